package io.blockkit.verify.formats;

import java.util.List;
import java.util.Map;

/**
 * VMDK in the verification suites: monolithicSparse (qemu-img's default) with and without
 * zeroed grains, twoGbMaxExtentSparse and monolithicFlat (extent files beside a text
 * descriptor). Grains are 64 KiB. Discard keeps data (VMDK frees nothing), and block status
 * tracks allocation per grain for the sparse variants.
 *
 * <p>Crash images are the single-file variants: the power-loss and fault suites stack blkdebug
 * under the image's own file, and a split image's extents open beside its descriptor on the
 * protocol, where blkdebug does not reach them. streamOptimized is append-only and has its own
 * crash and layout tests in block-vmdk.
 */
public final class VmdkUnderTest implements FormatUnderTest {
  static final Variant SPARSE = Variant.of("vmdk", "monolithicSparse", 64 << 10, Map.of());
  static final Variant ZEROED = Variant.of("vmdk", "monolithicSparse, zeroed_grain", 64 << 10,
      Map.of("zeroed_grain", "on"));
  static final Variant SPLIT = Variant.of("vmdk", "twoGbMaxExtentSparse", 64 << 10,
      Map.of("subformat", "twoGbMaxExtentSparse"));
  static final Variant FLAT = Variant.of("vmdk", "monolithicFlat", 64 << 10,
      Map.of("subformat", "monolithicFlat"));

  @Override
  public String name() {
    return "vmdk";
  }

  @Override
  public List<Variant> variants() {
    return List.of(SPARSE, ZEROED, SPLIT, FLAT);
  }

  @Override
  public List<CrashImage> crashImages() {
    return List.of(CrashImage.of(SPARSE), CrashImage.of(ZEROED));
  }

  @Override
  public List<Variant> concurrencyVariants() {
    return List.of(SPARSE);
  }

  @Override
  public List<Variant> modelVariants() {
    return List.of(SPARSE, ZEROED, SPLIT);
  }

  @Override
  public boolean discardFrees() {
    return false;
  }

  /** The flat variant stores every byte: block status calls all of it data. */
  @Override
  public boolean tracksAllocation() {
    return true;
  }

  @Override
  public Support<QemuCheck> qemuCheck() {
    return Support.of(new QemuCheck() {
      @Override
      public String format() {
        return "vmdk";
      }

      @Override
      public boolean reads(Variant v) {
        return v != FLAT;
      }
    });
  }

  @Override
  public Support<FuzzTarget> fuzz() {
    return Support.of(new VmdkFuzzTarget());
  }
}
