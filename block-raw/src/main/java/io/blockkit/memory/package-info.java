/**
 * The {@code memory} protocol driver: sparse images held in the JVM's heap, for tests and
 * pipelines that need no file.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Names:</b> {@code create("memory:NAME")} makes a store in a process-wide registry;
 *       every later {@code open("memory:NAME")} in the same JVM sees the same bytes, so an image
 *       can be created, closed and reopened like a file. Creating an existing name empties it.
 *       {@code delete} forgets the store (open devices keep using it). Opening an unknown name
 *       fails with {@link io.blockkit.api.error.ImageAccessException} reason {@code NOT_FOUND}.
 *       Stores live until deleted or the JVM exits; nothing is written to disk.
 *   <li><b>Sparse:</b> data lives in 64 KiB chunks; an absent chunk reads as zeros and is
 *       reported ZERO by block status, a stored one DATA with host offset = offset. Writing zeros
 *       into an absent chunk stores nothing; {@code writeZeroes} and {@code discard} drop whole
 *       chunks. {@code allocatedSize} is the stored chunks' bytes.
 *   <li><b>Size:</b> writes past the end grow the image ({@code GROW}); {@code truncate}
 *       resizes it ({@code RESIZE}), and bytes cut off read as zeros if it grows again.
 *   <li><b>Threads:</b> any number of devices and threads may use a store at once; there are no
 *       locks between opens (unlike {@code file}) and {@code flush} has nothing to do.
 * </ul>
 *
 * <h2>Create options</h2> {@code size} (default 0) and {@code preallocation=off|full} (full
 * stores every chunk up front).
 */
package io.blockkit.memory;
