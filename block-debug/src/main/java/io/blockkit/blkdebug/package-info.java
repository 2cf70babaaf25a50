/**
 * {@code blkdebug}: a FILTER driver that injects faults into the stack below a format, in the
 * spirit of QEMU's blkdebug, for users who test how their stacks and formats behave when storage
 * fails or power is lost.
 *
 * <p>Stack it between a format and a protocol, e.g. {@code
 * driver=vdi,file.driver=blkdebug,file.power-loss-after-writes=5,file.file.filename=memory:x}, or
 * open an image with format {@code blkdebug} to put it directly over the protocol.
 *
 * <p><b>Requests</b> are counted per open node, from 1: <em>reads</em> ({@code read}),
 * <em>writes</em> (every modifying request: {@code write}, {@code writeZeroes}, {@code discard},
 * {@code truncate}) and <em>flushes</em>. The counters are reported by {@code info()} in {@code
 * format-specific} as {@code reads}, {@code writes}, {@code flushes}, {@code bytes-written}, {@code
 * dropped-writes} and {@code injected-faults}, so a test can run a workload once without faults to
 * learn how many crash points it has.
 *
 * <p><b>Open options</b> (all off by default):
 *
 * <ul>
 *   <li>{@code fail-read=N}: the Nth read fails (1-based; 0 = never).
 *   <li>{@code fail-write=N}: the Nth write fails, without reaching the child.
 *   <li>{@code fail-flush=N}: the Nth flush fails, without flushing the child.
 *   <li>{@code fail-after-bytes=SIZE}: a write fails, writing nothing, when it would bring the
 *       bytes written through this node above SIZE (like a disk that runs out of space). Bytes of
 *       {@code write} and {@code writeZeroes} count; discards and truncations do not.
 *   <li>{@code power-loss-after-writes=N}: simulated power loss. The first N writes reach the child;
 *       every later one is silently dropped but reported successful, and flushes succeed without
 *       effect. Reads keep returning what reached the child: the state a crash would leave. With
 *       N=0 nothing is ever written. As with dm-flakey's {@code drop_writes}, the stack above may
 *       then read stale data, and reads of space a dropped write would have appended fail as out
 *       of range; nothing it does after the power loss reaches the child, so a test runs its
 *       workload, closes, and checks the child alone.
 *   <li>{@code once=on|off}: with {@code on}, each {@code fail-*} rule fires a single time (the Nth
 *       request fails, later ones succeed). With {@code off} (the default, as in QEMU) the failure
 *       is permanent: the Nth request and every later one of its kind fail.
 * </ul>
 *
 * <p>An injected failure is an {@link io.blockkit.blkdebug.InjectedFaultException} (a {@link
 * io.blockkit.api.error.BlockException}) whose message says it was injected and by which rule.
 * Everything else (size, capabilities, block status, check) is passed through to the child; the
 * node is safe for concurrent use.
 */
package io.blockkit.blkdebug;
