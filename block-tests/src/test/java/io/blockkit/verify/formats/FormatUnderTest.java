package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.DriverFeature;
import io.blockkit.verify.Images;
import java.io.IOException;
import java.util.List;

/**
 * A format as the verification suites (power loss, injected failures, concurrency, model-based,
 * image fuzzing) exercise it: which images to make, what the format promises beyond {@link
 * io.blockkit.api.BlockDevice}'s contract, and its own integrity checks. Whether it can check and
 * repair comes from its driver's {@link BlockDriver#features()}.
 *
 * <p>Implementations have a public no-argument constructor and are listed in {@code
 * src/test/resources/META-INF/services/io.blockkit.verify.formats.FormatUnderTest}; {@link
 * Formats} finds them. See the package comment for how to add a format.
 */
public interface FormatUnderTest {
  /** The driver's name, as the registry knows it. */
  String name();

  /** The create-option variants the suites exercise, default first; at least one. */
  List<Variant> variants();

  /** Images for the power-loss and injected-failure suites; default: {@link CrashImage#of} each. */
  default List<CrashImage> crashImages() {
    return variants().stream().map(CrashImage::of).toList();
  }

  /**
   * Variants for the concurrency suite: each races over memory; the first also over a file in one
   * test, the last in the other. Default: every variant.
   */
  default List<Variant> concurrencyVariants() {
    return variants();
  }

  /** Variants for the model-based suite; default: every variant. */
  default List<Variant> modelVariants() {
    return variants();
  }

  /**
   * True when a discard reads back as zeros and the range no longer holds data (a workload's
   * discard then moves or frees clusters); false when it may keep the old bytes, as {@link
   * io.blockkit.api.BlockDevice#discard} allows: suites then treat discard as "zeros or old data"
   * or use writeZeroes instead.
   */
  boolean discardFrees();

  /**
   * True when block status says exactly which clusters hold data (written clusters are DATA,
   * never-written and freed ones are not); the concurrency suite then asserts which clusters a
   * round allocated.
   */
  boolean tracksAllocation();

  /**
   * Format-specific invariants beyond {@code check}, on an image check finds clean (for vdi: one
   * physical block per data block, and the header's count of allocated blocks). Default: none.
   */
  default void assertIntegrity(BlockDevice d, Variant v, String context) throws IOException {}

  /** How qemu-img check judges crash images, or why it does not apply. */
  Support<QemuCheck> qemuCheck();

  /** The image fuzz target, or why the format has none. */
  Support<FuzzTarget> fuzz();

  /** The driver, from the test registry. */
  default BlockDriver driver() throws IOException {
    return Images.registry().driver(name());
  }

  /** Whether the driver declares {@code f}. */
  default boolean has(DriverFeature f) throws IOException {
    return driver().features().contains(f);
  }
}
