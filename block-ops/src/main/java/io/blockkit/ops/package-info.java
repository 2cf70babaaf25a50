/**
 * Image operations for programs that embed blockkit: the work behind the {@code blockkit} tool's
 * commands, as small builders over the SPI ({@link io.blockkit.api.BlockDevice}) and the registry.
 *
 * <table>
 *   <caption>Operations</caption>
 *   <tr><th>class</th><th>qemu-img</th><th>what it does</th></tr>
 *   <tr><td>{@link io.blockkit.ops.Create}</td><td>create</td><td>a new image, optionally over a
 *       backing file</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Convert}</td><td>convert</td><td>copies an image into a new or
 *       existing one, flattening its chain or keeping a backing</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Compare}</td><td>compare</td><td>compares what two chains read
 *       as</td></tr>
 *   <tr><td>{@link io.blockkit.ops.ImageMap}</td><td>map</td><td>the allocation map with
 *       depths</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Check}</td><td>check</td><td>checks and repairs
 *       metadata</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Commit}</td><td>commit</td><td>writes upper layers into a
 *       backing image</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Rebase}</td><td>rebase</td><td>changes the backing file, keeping
 *       the content (or not, unsafe)</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Resize}</td><td>resize</td><td>grows, or shrinks over zeros
 *       only</td></tr>
 *   <tr><td>{@link io.blockkit.ops.Measure}</td><td>measure</td><td>the storage a new image
 *       needs</td></tr>
 * </table>
 *
 * <p><b>Shape.</b> Each operation starts from a static factory naming what it works on ({@code
 * Convert.from(device)}, {@code Create.image(name)}), takes settings as chained calls, and does the
 * work in {@code run}, returning a record or nothing. Devices passed in stay the caller's: the
 * operation neither closes them nor keeps them. Operations that open or create images by name take
 * the {@link io.blockkit.registry.BlockRegistry} in {@code run}. Errors are {@link
 * io.blockkit.api.error.BlockException}s (this package adds {@link
 * io.blockkit.ops.CancelledException}, {@link io.blockkit.ops.CompareException} and {@link
 * io.blockkit.ops.ResizeRefusedException}); {@link java.lang.IllegalArgumentException} and {@link
 * java.lang.IllegalStateException} mean a programming mistake (a negative size, no target).
 *
 * <p><b>Progress and cancellation.</b> Long operations report to a {@link
 * io.blockkit.ops.ProgressListener} (the tool's progress bar and its JSON lines are two listeners)
 * and stop when their {@link io.blockkit.ops.Cancellation} is tripped, between requests: a new
 * image is removed, an image changed in place stays consistent.
 *
 * <p><b>New images and crashes.</b> {@link io.blockkit.ops.Create} and {@link
 * io.blockkit.ops.Convert} build a new image under a hidden name beside the target where the
 * protocol can move it into place ({@link io.blockkit.api.BlockDriver#stagingLocation}, plain
 * files), and rename it when complete and flushed: whatever stops the program, the name holds no
 * image, the previous file untouched, or the complete new image. A crash may leave the hidden
 * {@code .NAME.blockkit-RANDOM.tmp} file; nothing uses it. Elsewhere the image is created in place
 * and deleted on failure.
 *
 * <p><b>Signals are the caller's.</b> The library installs no JVM shutdown hook: a library that
 * did would decide for every program embedding it what Ctrl-C means. A program that wants an
 * interrupted operation to clean up arms its own hook that calls {@link
 * io.blockkit.ops.Cancellation#cancel()}, waits for the operation to end, and calls {@link
 * io.blockkit.ops.Cancellation#abandon()} if it does not end in time (the tool waits 10 seconds);
 * {@code abandon} deletes the new images of the operations still running.
 *
 * <p><b>Changes in place</b> ({@link io.blockkit.ops.Commit}, {@link io.blockkit.ops.Rebase},
 * {@link io.blockkit.ops.Resize}) are ordered so that a crash or a cancellation at any point
 * leaves every image reading as before or as after, and the operation can be run again: commit
 * flushes the base before it empties the top; rebase writes and flushes the data before it changes
 * the link.
 */
package io.blockkit.ops;
