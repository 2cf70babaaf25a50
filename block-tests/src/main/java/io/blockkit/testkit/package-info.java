/**
 * The conformance kit for driver authors: JUnit 5 base classes a driver's test extends, each
 * running every shared test that applies to the driver and skipping the rest with an assumption
 * that says why (a capability the device does not claim, a {@link io.blockkit.api.DriverFeature}
 * the driver does not declare). This package is published in the main jar of {@code block-tests}
 * so that plugins outside this repository can depend on it; the file, memory and raw drivers of
 * {@code block-raw} must be on the test class path.
 *
 * <h2>What to extend</h2>
 *
 * <table>
 *   <caption>The kit's entry points</caption>
 *   <tr><th>driver</th><th>extend</th><th>it says</th></tr>
 *   <tr><td>a protocol (file, memory, nbd)</td>
 *       <td>{@link io.blockkit.testkit.BlockDriverConformanceTest}</td>
 *       <td>how to create and reopen a device</td></tr>
 *   <tr><td>a format that creates images</td>
 *       <td>{@link io.blockkit.testkit.FormatConformanceTest}</td>
 *       <td>its driver and, for a variant, its create options</td></tr>
 *   <tr><td>a read-only format, or images another tool made</td>
 *       <td>{@link io.blockkit.testkit.FormatFixtureConformanceTest}</td>
 *       <td>the driver and an {@link io.blockkit.testkit.ImageFixture}</td></tr>
 *   <tr><td>a read-only protocol (http, s3)</td>
 *       <td>{@link io.blockkit.testkit.FixtureConformanceTest}</td>
 *       <td>the fixture and how to serve it</td></tr>
 * </table>
 *
 * <h2>The suites</h2>
 *
 * <ul>
 *   <li>The device contract ({@code BlockDriverConformanceTest}), in {@code @Nested} groups:
 *       {@code Basics} (capabilities, sizes, zero-length requests, close, check, flush), {@code
 *       ReadsAndWrites} (random and block-boundary round trips, reopening, read-only opens),
 *       {@code Ranges} (past the end, growth, truncation), {@code ZeroesAndStatus} (writeZeroes,
 *       discard, block status against the content), {@code Probing} (own images exactly, nothing
 *       else, not a cut header), {@code Concurrency} (disjoint and overlapping writers).
 *   <li>{@code FormatConformanceTest} runs the device contract over {@code memory} ({@code
 *       OnMemory}) and host files ({@code OnFiles}) through the registry, checks probing, that a
 *       read-only open writes nothing and that capabilities agree with the declared features, and
 *       runs the chain suite ({@code ChainsOnMemory}, {@code ChainsOnFiles}).
 *   <li>{@link io.blockkit.testkit.ChainConformanceTest}: read-through, zeros past a shorter
 *       backing, copy-on-write at cluster boundaries (checked again with {@code backing=null}),
 *       the backing never written, {@link io.blockkit.api.BackingChain#status} depths against a
 *       {@link io.blockkit.testkit.ChainModel}, zeroed and discarded ranges never reverting to the
 *       backing after reopening (VirtualBox's gh-850), {@code backing=null} and {@code
 *       backing.file.filename=}, a missing backing, {@code info().backing()}, concurrent
 *       copy-on-write.
 *   <li>{@code FixtureConformanceTest}: random reads against the expected bytes (unaligned,
 *       across clusters, heap and direct buffers), the end and past it, block status against the
 *       content and the fixture's map, a read-write open against the declared features, a
 *       read-only open refusing writes, {@code info()}, concurrent readers, probing, close.
 * </ul>
 *
 * <h2>Joining the chain suite</h2>
 *
 * A format whose test extends {@code FormatConformanceTest} joins the chain suite by declaring
 * {@link io.blockkit.api.DriverFeature#BACKING}: its {@code ChainsOnMemory} and {@code
 * ChainsOnFiles} stop skipping. If the format does not create an overlay from qemu-img's {@code
 * backing_file} and {@code backing_fmt} options, its test overrides {@code overlayOptions} (for
 * VDI: {@code VdiConformanceTest}, one class); {@code naturalBlockSize} must be the unit at which
 * it copies on write.
 *
 * <h2>Reproducing and trusting a failure</h2>
 *
 * Randomised tests print their seed; {@code -Dblockkit.seed=N} repeats a run. Expected values
 * come from models ({@code ChainModel}, byte arrays) or fixtures, never from the driver under
 * test. {@code KitSelfTest} (block-tests' test code) runs the chain and fixture suites against
 * deliberately broken builds of the test-only {@code toyfmt} driver and checks that each bug fails
 * the test meant to catch it, while the sound build passes.
 */
package io.blockkit.testkit;
