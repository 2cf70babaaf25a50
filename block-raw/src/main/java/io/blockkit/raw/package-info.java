/**
 * The {@code raw} format driver: the virtual disk is the child node's bytes, unchanged.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li>Size, reads, writes, {@code writeZeroes}, {@code discard}, {@code flush}, {@code
 *       truncate} and the allocated size are the child's. Block status is the child's, with the
 *       child as host and host offset = offset. Raw has no metadata: no {@code CHECK}, cluster
 *       size 0, and writes past the end fail (raw does not grow, its protocol does).
 *   <li><b>Probing:</b> any bytes are a raw image, so {@code probe} returns {@link
 *       io.blockkit.api.BlockDriver#PROBE_LAST_RESORT} (1) for every input and raw wins only when
 *       no other format claims the image.
 *   <li><b>Probed-raw guard</b> (as QEMU, CVE-2008-2004): when the format was guessed rather than
 *       named ({@link io.blockkit.api.OpenRequest#probedBy()} set), a write or write-zeroes
 *       touching the first 512 bytes is checked first: the first {@link
 *       io.blockkit.api.BlockDriver#PROBE_SIZE} bytes as they would be afterwards are offered to
 *       the other formats, and if one claims them the write fails with {@link
 *       io.blockkit.api.error.ProbedRawWriteException}. A guest could otherwise turn its disk into,
 *       say, a VDI image pointing at host files on the next probe.
 * </ul>
 *
 * <h2>Create options</h2> {@code size} (required) and {@code preallocation=off|full}; create
 * sets the child's length and, with {@code full}, writes zeros over it.
 */
package io.blockkit.raw;
