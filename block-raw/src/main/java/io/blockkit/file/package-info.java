/**
 * The {@code file} protocol driver: an image stored in a host file, opened with {@code
 * file:PATH} or a plain path.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Size</b> is the file length. Writes past the end grow the file ({@code GROW});
 *       {@code truncate} shrinks or grows it, growing with a hole ({@code RESIZE}).
 *   <li><b>I/O</b> is positional {@link java.nio.channels.FileChannel} I/O, looped until the
 *       buffer is done; {@code flush} is {@code force(true)}. Read-only opens use a read-only
 *       channel and never write.
 *   <li><b>Locking</b> (like QEMU's image locking): a read-write open takes an exclusive lock, a
 *       read-only open a shared one, a read-only open with {@code forceShare} none. A conflicting
 *       lock, held by another process or another open in this JVM, fails the open with {@link
 *       io.blockkit.api.error.ImageLockedException}. Locks are POSIX record locks on the whole
 *       file, so they also keep qemu-img out while blockkit writes.
 *   <li><b>Block status</b> comes from {@code lseek(SEEK_DATA/SEEK_HOLE)} through JNA: holes are
 *       ZERO, the rest DATA at host offset = offset. Where that is unavailable (non-Linux, a file
 *       system without it) everything is DATA and {@code BLOCK_STATUS} is not claimed.
 *       {@code writeZeroes} and {@code discard} punch holes with {@code fallocate} where possible.
 *   <li><b>Allocated size</b> is {@code st_blocks * 512} from {@code fstat}, else the bytes in
 *       data extents, else the length.
 *   <li><b>Staging</b>: a new image can be built under a hidden sibling name and renamed into
 *       place when complete ({@code stagingLocation}, {@code commit}; see {@code Staging}), so a
 *       crash leaves no half-written file under the image's name.
 *   <li><b>Errors</b> are {@link io.blockkit.api.error.ImageAccessException}s naming the path,
 *       with a reason: missing file, directory, permission denied, no space left.
 * </ul>
 *
 * <h2>Create options</h2>
 * <table>
 *   <caption>file create options</caption>
 *   <tr><th>name</th><th>type</th><th>default</th><th>meaning</th></tr>
 *   <tr><td>size</td><td>size</td><td>0</td><td>file length</td></tr>
 *   <tr><td>preallocation</td><td>off|full</td><td>off</td><td>off: sparse; full: zeros
 *       written over the whole length</td></tr>
 * </table>
 * Creating an existing file truncates it (while nobody else has it open for writing).
 */
package io.blockkit.file;
