package io.blockkit.verify.formats;

import io.blockkit.api.BlockDevice;
import io.blockkit.verify.PhysicalBlocks;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * VHD in the verification suites: dynamic images with qemu-img's default 2 MiB blocks (sizes
 * rounded up to a CHS geometry), and 64 KiB and 4 KiB blocks with force_size (the fault suites
 * model exactly the size they ask for); fixed images.
 * A discard of a dynamic image clears the sectors' bitmap bits (they read zeros and hold no data)
 * and punches the data; a fixed image's goes to the file as zeros.
 */
public final class VpcUnderTest implements FormatUnderTest {
  private static final long MIB = 1 << 20;

  static final Variant DYNAMIC_2M = Variant.of("vpc", "dynamic, 2M blocks", 2 * MIB, Map.of());
  static final Variant DYNAMIC_64K = Variant.of("vpc", "dynamic, 64K blocks, force_size",
      64 << 10, Map.of("block_size", "64K", "force_size", "on"));
  static final Variant DYNAMIC_4K = Variant.of("vpc", "dynamic, 4K blocks, force_size", 4096,
      Map.of("block_size", "4K", "force_size", "on"));
  /** A fixed disk has no blocks; the suites aim at 64 KiB steps. */
  static final Variant FIXED = Variant.of("vpc", "fixed, 64K steps", 64 << 10,
      Map.of("subformat", "fixed", "force_size", "on"));

  @Override
  public String name() {
    return "vpc";
  }

  @Override
  public List<Variant> variants() {
    return List.of(DYNAMIC_2M, DYNAMIC_64K, DYNAMIC_4K, FIXED);
  }

  @Override
  public List<CrashImage> crashImages() {
    return List.of(CrashImage.of(DYNAMIC_64K), CrashImage.of(DYNAMIC_4K), CrashImage.of(FIXED));
  }

  @Override
  public List<Variant> concurrencyVariants() {
    return List.of(DYNAMIC_64K, DYNAMIC_4K);
  }

  @Override
  public boolean discardFrees() {
    return true;
  }

  @Override
  public boolean tracksAllocation() {
    return true;
  }

  /** No two blocks holding data share a place in the file (block status's host offsets). */
  @Override
  public void assertIntegrity(BlockDevice d, Variant v, String context) throws IOException {
    PhysicalBlocks.assertDistinct(d, v.clusterSize(), context);
  }

  @Override
  public Support<QemuCheck> qemuCheck() {
    return Support.not("qemu-img 7.2 has no check for vpc images (it exits 63); blockkit's "
        + "check judges the crash images, and VpcQemuInteropTest has qemu-img read what "
        + "blockkit writes");
  }

  @Override
  public Support<FuzzTarget> fuzz() {
    return Support.of(new VpcFuzzTarget());
  }
}
