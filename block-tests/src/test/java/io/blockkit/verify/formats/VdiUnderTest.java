package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.verify.PhysicalBlocks;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * VDI in the verification suites: dynamic images of 1 MiB and 512 KiB blocks (one with
 * {@code block_extra}, which create cannot make), static ones; discard frees blocks and makes the
 * image move its last block into the hole, so every suite's discards race with block moves.
 */
public final class VdiUnderTest implements FormatUnderTest {
  private static final long MIB = 1 << 20;
  /** Offset of header.block_extra in a version 1.1 header. */
  private static final int BLOCK_EXTRA_OFFSET = 380;

  static final Variant DYNAMIC_1M = Variant.of("vdi", "1M blocks", MIB, Map.of());
  static final Variant DYNAMIC_512K = Variant.of("vdi", "512K blocks", MIB / 2,
      Map.of("block_size", "512K"));
  /** An empty dynamic image gets its block_extra by patching the field. */
  static final Variant DYNAMIC_512K_EXTRA = DYNAMIC_512K.tweaked("block_extra 4096", raw -> {
    ByteBuffer v = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
    v.putInt(0, 4096);
    raw.write(BLOCK_EXTRA_OFFSET, v);
  });
  static final Variant STATIC_512K = Variant.of("vdi", "static, 512K blocks", MIB / 2,
      Map.of("block_size", "512K", "static", "on"));

  @Override
  public String name() {
    return "vdi";
  }

  @Override
  public List<Variant> variants() {
    return List.of(DYNAMIC_1M, DYNAMIC_512K, DYNAMIC_512K_EXTRA, STATIC_512K);
  }

  @Override
  public List<CrashImage> crashImages() {
    return List.of(new CrashImage(DYNAMIC_1M, 6 * MIB),
        new CrashImage(DYNAMIC_512K, 6 * MIB - 3 * 512),
        new CrashImage(DYNAMIC_512K_EXTRA, 5 * MIB), CrashImage.of(STATIC_512K));
  }

  @Override
  public List<Variant> concurrencyVariants() {
    return List.of(DYNAMIC_1M, DYNAMIC_512K);
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
   * One physical block per data block, and the header's blocks-allocated (read from disk on a
   * read-only open) equals the number of blocks holding data: nothing allocated twice, nothing
   * lost, no count left behind.
   */
  @Override
  public void assertIntegrity(BlockDevice d, Variant v, String context) throws IOException {
    long used = PhysicalBlocks.assertDistinct(d, v.clusterSize(), context);
    Object allocated = d.info().formatSpecific().get("blocks-allocated");
    assertEquals(used, ((Number) allocated).longValue(),
        context + ": blocks-allocated vs blocks holding data");
  }

  @Override
  public Support<QemuCheck> qemuCheck() {
    return Support.of(new VdiQemuCheck());
  }

  @Override
  public Support<FuzzTarget> fuzz() {
    return Support.of(new VdiFuzzTarget());
  }

  /**
   * qemu-img check on a crash image: exit 0 (clean) or 3 (leaks). One finding of exit 2 is
   * allowed: "allocated blocks mismatch" with blocks_allocated above the allocated entries. A
   * crash between the header and map writes of a request leaves it (qemu's own VDI driver writes
   * in the same order, so it leaves the same), and so does every crash while freed blocks are
   * being compacted; qemu counts any mismatch as an error, but a count above the entries only
   * leaks space for QEMU and VirtualBox, which allocate new blocks at blocks_allocated. A count
   * below the entries, or any other error, fails.
   */
  private static final class VdiQemuCheck implements QemuCheck {
    private static final Pattern QEMU_ERROR = Pattern.compile("(?m)^ERROR: (.*)$");
    private static final Pattern COUNT_MISMATCH =
        Pattern.compile("allocated blocks mismatch, is (\\d+), should be (\\d+)");

    @Override
    public String format() {
      return "vdi";
    }

    /** QEMU opens only 1 MiB blocks without block_extra. */
    @Override
    public boolean reads(Variant v) {
      return v.clusterSize() == MIB && v.tweak() == null;
    }

    @Override
    public String crashImageProblem(Qemu.Result r) {
      if (r.exitCode() == 0 || r.exitCode() == 3) {
        return null;
      }
      String out = r.stdout() + r.stderr();
      Matcher errors = QEMU_ERROR.matcher(out);
      int found = 0;
      while (errors.find()) {
        found++;
        Matcher m = COUNT_MISMATCH.matcher(errors.group(1));
        if (!m.matches() || Long.parseLong(m.group(1)) >= Long.parseLong(m.group(2))) {
          return "qemu-img check found corruption:\n" + out;
        }
      }
      if (r.exitCode() != 2 || found != 1) {
        return "qemu-img check exited " + r.exitCode() + ":\n" + out;
      }
      return null;
    }
  }
}
