/**
 * The formats the verification suites exercise, one {@link
 * io.blockkit.verify.formats.FormatUnderTest} each: the power-loss and injected-failure suites
 * ({@code verify.faults}), the concurrency suite ({@code verify.concurrency}), the model-based
 * suite ({@code verify.model}) and the image fuzz harness ({@code verify.fuzz.ImageFuzz}) run over
 * every descriptor {@link io.blockkit.verify.formats.Formats} finds, with the format and variant in
 * each test's name. None of them names a format.
 *
 * <h2>Adding a format</h2>
 * <ol>
 *   <li>A class {@code <Name>UnderTest implements FormatUnderTest} here: its {@link
 *       io.blockkit.verify.formats.Variant}s (create options and cluster size; the default first),
 *       whether discard frees and block status tracks allocation, its integrity checks beyond
 *       {@code check}, its {@link io.blockkit.verify.formats.QemuCheck} and {@link
 *       io.blockkit.verify.formats.FuzzTarget}, or a {@link io.blockkit.verify.formats.Support#not
 *       reason} for each it does not have. Check and repair follow the driver's features.
 *   <li>Its class name as one line of {@code
 *       src/test/resources/META-INF/services/io.blockkit.verify.formats.FormatUnderTest}.
 *   <li>With a fuzz target: {@code verify.fuzz.<Name>FuzzTest} with one method {@code
 *       @FuzzTest void <name>Image(byte[] input) { ImageFuzz.run("<name>", input); }}, and its seeds,
 *       written by {@code FuzzSeedCorpusTest#regenerate} into {@code
 *       src/test/resources/io/blockkit/verify/fuzz/<Name>FuzzTestInputs/<name>Image/}.
 * </ol>
 * {@code FormatUnderTestTest} fails while a writable format driver on the test class path has no
 * descriptor, and checks each descriptor's declarations against its driver over memory;
 * {@code FuzzSeedCorpusTest} fails while a fuzz target has no fuzz test or seeds.
 */
package io.blockkit.verify.formats;
