package io.blockkit.verify.formats;

import io.blockkit.verify.PhysicalBlocks;
import io.blockkit.api.BlockDevice;
import java.io.IOException;
import java.util.List;
import java.util.Map;

/**
 * qcow2 in the verification suites: version 3 with 64 KiB clusters (the default), version 2
 * (no zero flag: zero writes unmap or write zeros), 4 KiB clusters with 1-bit refcounts (every
 * few clusters a new refcount block, so crashes land inside refcount growth), lazy refcounts
 * (the dirty bit instead of ordered refcounts) and extended L2 entries (copy-on-write per
 * subcluster). Discard frees clusters; block status follows the L2 entries.
 */
public final class Qcow2UnderTest implements FormatUnderTest {
  private static final long K = 1024;

  static final Variant DEFAULT = Variant.of("qcow2", "v3, 64K clusters", 64 * K, Map.of());
  static final Variant V2 = Variant.of("qcow2", "v2 (compat 0.10)", 64 * K,
      Map.of("compat", "0.10"));
  static final Variant SMALL = Variant.of("qcow2", "4K clusters, refcount_bits=1", 4 * K,
      Map.of("cluster_size", "4K", "refcount_bits", "1"));
  static final Variant LAZY = Variant.of("qcow2", "lazy refcounts, 4K clusters", 4 * K,
      Map.of("cluster_size", "4K", "lazy_refcounts", "on"));
  static final Variant EXTENDED = Variant.of("qcow2", "extended L2, 32K clusters", 32 * K,
      Map.of("cluster_size", "32K", "extended_l2", "on"));

  @Override
  public String name() {
    return "qcow2";
  }

  @Override
  public List<Variant> variants() {
    return List.of(DEFAULT, V2, SMALL, LAZY, EXTENDED);
  }

  @Override
  public List<CrashImage> crashImages() {
    return List.of(CrashImage.of(DEFAULT), CrashImage.of(SMALL), CrashImage.of(LAZY),
        CrashImage.of(EXTENDED));
  }

  @Override
  public List<Variant> concurrencyVariants() {
    return List.of(DEFAULT, SMALL, EXTENDED);
  }

  @Override
  public List<Variant> modelVariants() {
    return List.of(DEFAULT, V2, SMALL, EXTENDED);
  }

  @Override
  public boolean discardFrees() {
    return true;
  }

  @Override
  public boolean tracksAllocation() {
    return true;
  }

  /** No two clusters of the virtual disk share a host cluster. */
  @Override
  public void assertIntegrity(BlockDevice d, Variant v, String context) throws IOException {
    PhysicalBlocks.assertDistinct(d, v.clusterSize(), context);
  }

  /** Crash images may leak clusters (exit 3) but never be corrupt. */
  @Override
  public Support<QemuCheck> qemuCheck() {
    return Support.of(QemuCheck.leaksOnly("qcow2"));
  }

  @Override
  public Support<FuzzTarget> fuzz() {
    return Support.of(new Qcow2FuzzTarget());
  }
}
