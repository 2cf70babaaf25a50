package io.blockkit.verify.formats;

import java.util.List;
import java.util.Map;

/**
 * Raw in the verification suites: no metadata, so there is nothing to check, repair or fuzz, but
 * power loss, injected failures, concurrency and the byte model apply to its write path as to any
 * format's. Raw has no clusters; the suites aim at 64 KiB steps.
 */
public final class RawUnderTest implements FormatUnderTest {
  static final Variant RAW = Variant.of("raw", "64K steps", 64 * 1024, Map.of());

  @Override
  public String name() {
    return "raw";
  }

  @Override
  public List<Variant> variants() {
    return List.of(RAW);
  }

  /** Raw passes discard to its storage, which may keep the data (a file without hole punching). */
  @Override
  public boolean discardFrees() {
    return false;
  }

  /** Block status is the storage's (a file system's holes, memory chunks), not per cluster. */
  @Override
  public boolean tracksAllocation() {
    return false;
  }

  @Override
  public Support<QemuCheck> qemuCheck() {
    return Support.not("raw has no metadata: qemu-img check -f raw only says the format cannot be "
        + "checked");
  }

  @Override
  public Support<FuzzTarget> fuzz() {
    return Support.not("raw has no metadata to mutate: every byte string is a valid raw image, "
        + "and ProbeFuzzTest already opens arbitrary bytes as raw");
  }
}
