package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.verify.Images;
import io.blockkit.verify.PhysicalBlocks;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Map;

/**
 * VHDX in the verification suites: dynamic images of 1 MiB blocks with 512 and 4096-byte logical
 * sectors, a fixed image, and a dynamic one whose new blocks are NOT_PRESENT rather than ZERO.
 * Every BAT change goes through the log (entry, flush, in-place write), so each crash point of
 * the power-loss suite lands before, inside or after a log entry; discard sets whole blocks ZERO
 * and frees their space for reuse.
 */
public final class VhdxUnderTest implements FormatUnderTest {
  private static final long MIB = 1 << 20;

  static final Variant DYNAMIC = Variant.of("vhdx", "1M blocks", MIB, Map.of("block_size", "1M"));
  static final Variant SECTORS_4K = Variant.of("vhdx", "1M blocks, 4096-byte sectors", MIB,
      Map.of("block_size", "1M", "logical_sector_size", "4096"));
  static final Variant FIXED = Variant.of("vhdx", "fixed, 1M blocks", MIB,
      Map.of("block_size", "1M", "subformat", "fixed"));
  static final Variant NOT_PRESENT = Variant.of("vhdx", "1M blocks, block_state_zero=off", MIB,
      Map.of("block_size", "1M", "block_state_zero", "off"));

  /**
   * A differencing child over an empty raw parent beside it in memory (made once, shared, never
   * written; the crash images of this variant live in memory only): its writes go through
   * PARTIALLY_PRESENT blocks and sector bitmaps, and it reads as the byte model (zeros where
   * nothing was written). Its unit is the sector: a write over a block whose sectors are split
   * between child and parent is several child writes, so a crash inside it leaves each sector,
   * not each block, old or new (docs/VHDX.md).
   */
  private static final String PARENT = "vhdx-crash-parent.raw";
  static final Variant DIFFERENCING = Variant.of("vhdx",
      "1M blocks, differencing over raw, sector copy-on-write", 512,
      Map.of("block_size", "1M", "backing_file", PARENT, "backing_fmt", "raw"));

  @Override
  public String name() {
    return "vhdx";
  }

  @Override
  public List<Variant> variants() {
    return List.of(DYNAMIC, SECTORS_4K, FIXED, NOT_PRESENT);
  }

  /**
   * The dynamic image and a differencing one (sector bitmaps through the log): a fixed image
   * writes in place and changes no metadata after its header, so its crash points add run time
   * and no new order (the model suite covers it).
   */
  @Override
  public List<CrashImage> crashImages() {
    try {
      if (!MemoryDriver.exists(PARENT)) {
        Images.create(MemoryDriver.NAME + ":" + PARENT, "raw",
            Map.of("size", Long.toString(8 * MIB)));
      }
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return List.of(CrashImage.of(DYNAMIC), new CrashImage(DIFFERENCING, 6 * MIB - 1536));
  }

  /** The sector size changes no locking: one variant races. */
  @Override
  public List<Variant> concurrencyVariants() {
    return List.of(DYNAMIC);
  }

  @Override
  public boolean discardFrees() {
    return true;
  }

  @Override
  public boolean tracksAllocation() {
    return true;
  }

  /**
   * No two blocks share space, and the header names no log once the image is closed cleanly
   * (checked on a read-only open, whose header is the file's).
   */
  @Override
  public void assertIntegrity(BlockDevice d, Variant v, String context) throws IOException {
    PhysicalBlocks.assertDistinct(d, v.clusterSize(), context);
    Map<String, Object> f = d.info().formatSpecific();
    assertEquals(v.options().containsKey("backing_file") ? "differencing"
        : v.options().getOrDefault("subformat", "dynamic"), f.get("type"), context);
    if (d.isReadOnly()) {
      assertEquals("00000000-0000-0000-0000-000000000000", f.get("log-guid"),
          context + ": a cleanly closed image names no log");
    }
  }

  @Override
  public Support<QemuCheck> qemuCheck() {
    return Support.of(new VhdxQemuCheck());
  }

  @Override
  public Support<FuzzTarget> fuzz() {
    return Support.of(new VhdxFuzzTarget());
  }

  /**
   * qemu-img check on a crash image: clean, or a refusal to open it read-only because its log
   * needs replaying (QEMU replays logs only on read-write opens and with check -r all; blockkit
   * replays them read-only too, in memory). Anything else fails.
   */
  private static final class VhdxQemuCheck implements QemuCheck {
    @Override
    public String format() {
      return "vhdx";
    }

    /** QEMU reads 512-byte sectors only. */
    @Override
    public boolean reads(Variant v) {
      return !v.options().containsKey("logical_sector_size")
          && !v.options().containsKey("backing_file");
    }

    @Override
    public String crashImageProblem(Qemu.Result r) {
      String out = r.stdout() + r.stderr();
      if (r.exitCode() == 0 || r.exitCode() == 1
          && out.contains("contains a log that needs to be replayed")) {
        return null;
      }
      return "qemu-img check exited " + r.exitCode() + ":\n" + out;
    }
  }
}
