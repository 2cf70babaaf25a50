/**
 * The {@code file} protocol driver: an image stored in a host file, opened with {@code
 * file:PATH} or a plain path.
 *
 * <h2>Contract</h2>
 * <ul>
 *   <li><b>Names are bytes.</b> A location String stands for the bytes {@link
 *       io.blockkit.api.SurrogateEscape#encode} gives (UTF-8, with U+DC80..U+DCFF for bytes that
 *       are not UTF-8), so every name the host has, valid UTF-8 or not, can be opened, created
 *       and deleted, under any locale. On Linux the driver hands these bytes to {@code open(2)}
 *       itself ({@link io.blockkit.file.NativeOpener}): the JVM's file-name encoding never sees
 *       them, and the kernel's rules apply unchanged, so a trailing slash means "a directory"
 *       ({@code create x.img/} fails with "Is a directory", {@code open x.img/} on a file with
 *       "Not a directory"), exactly as with qemu-img.
 *   <li><b>Only regular files and block devices</b> are images. Directories fail with "Is a
 *       directory"; FIFOs, sockets and character devices with "Not a regular file or block
 *       device (it is a ...)". The file is found without being opened ({@code O_PATH}), checked,
 *       and then that same file is reopened for I/O through {@code /proc/self/fd}: no open
 *       ever blocks on a FIFO or wakes a device, and nothing can be swapped in between. qemu-img
 *       opens character devices as empty raw images; blockkit refuses them (no image lives
 *       there, a terminal blocks reads, some devices act when opened).
 *   <li><b>Size</b> is the file length. Writes past the end grow the file ({@code GROW});
 *       {@code truncate} shrinks or grows it, growing with a hole ({@code RESIZE}).
 *   <li><b>I/O</b> is positional {@link java.nio.channels.FileChannel} I/O, looped until the
 *       buffer is done; {@code flush} is {@code force(true)}. Read-only opens use a read-only
 *       channel and never write.
 *   <li><b>Locking</b> (QEMU's image locking, see {@link io.blockkit.file.OpenFiles}): a read-write
 *       open (and create) locks out every other opener, a read-only open other writers, a
 *       read-only open with {@code forceShare} nobody. A conflicting lock, held by another
 *       process (blockkit or qemu) or another open in this JVM, fails the open with {@link
 *       io.blockkit.api.error.ImageLockedException}. An open takes its locks first and checks
 *       for conflicting ones second, as QEMU does, so two processes opening at the same moment
 *       can never both get in (both may be refused).
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
 *       with a reason from the system call's errno: missing file, directory, not a directory,
 *       not a file, permission denied, read-only file system, no space left.
 *   <li><b>Without native access</b> (not Linux, no JNA, no {@code /proc}) the JDK's paths are
 *       used ({@link io.blockkit.file.PortableOpener}), with known limits: names must be
 *       representable in the JVM's file-name encoding; the file type is checked before the
 *       open, so a file replaced by a FIFO in that instant can still block it; lock conflicts
 *       are probed before locking, so two racing processes can both get in, and a read-only
 *       open cannot probe at all; block status is all DATA.
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
 * Creating an existing file truncates it, unless another open (reading or writing, in this
 * process or another) holds it: then nothing is touched. Creating on a block device writes
 * nothing, as with qemu-img: the device must be at least {@code size} bytes, and {@code
 * preallocation=full} is refused.
 */
package io.blockkit.file;
