package io.blockkit.verify.formats;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CheckReport;
import io.blockkit.api.ImageInfo;
import io.blockkit.verify.PhysicalBlocks;
import io.blockkit.verify.Qemu;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
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

  /** Mutated VDI images; seeds from {@link VdiSeeds}. */
  private static final class VdiFuzzTarget implements FuzzTarget {
    private static final Pattern FLAGGED = Pattern.compile("^ERROR: block (\\d+):");

    /** The signature 0xbeda107f at 0x40 of an image of at least 512 bytes scores 100. */
    @Override
    public int expectedProbeScore(byte[] image) {
      return image.length >= 512 && ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN)
          .getInt(0x40) == 0xbeda107f ? 100 : 0;
    }

    @Override
    public List<Seed> validSeeds() throws IOException {
      return VdiSeeds.valid();
    }

    @Override
    public List<Seed> invalidSeeds() throws IOException {
      return VdiSeeds.invalid();
    }

    /** Blocks are powers of two from 512 bytes, the disk a whole number of sectors. */
    @Override
    public void assertInfo(ImageInfo info) {
      long blockSize = info.clusterSize();
      assertTrue(blockSize >= 512 && Long.bitCount(blockSize) == 1, "block size " + blockSize);
      long size = info.virtualSize();
      assertTrue(size > 0 && size % 512 == 0, "virtual size " + size);
    }

    @Override
    public long firstDataOffset(ImageInfo info) {
      return ((Number) info.formatSpecific().get("data-offset")).longValue();
    }

    /** Blocks named by check's corruption messages ("ERROR: block N: ..."). */
    @Override
    public Optional<Set<Long>> flaggedClusters(CheckReport report) {
      Set<Long> out = new HashSet<>();
      for (String m : report.messages()) {
        Matcher matcher = FLAGGED.matcher(m);
        if (matcher.find()) {
          out.add(Long.parseLong(matcher.group(1)));
        }
      }
      return Optional.of(out);
    }

    /** Every header version and image type, block_extra, and a ZERO block map entry. */
    @Override
    public SeedCoverage coverage() {
      return new SeedCoverage() {
        final Set<String> versions = new HashSet<>();
        final Set<String> types = new HashSet<>();
        boolean blockExtra;
        boolean zeroEntry;

        @Override
        public void add(String name, byte[] image, ImageInfo info) {
          Map<String, Object> fields = info.formatSpecific();
          versions.add(fields.get("version") + "/" + fields.get("header-size"));
          types.add((String) fields.get("type"));
          blockExtra |= ((Number) fields.get("block-extra")).longValue() > 0;
          zeroEntry |= hasZeroEntry(image, ((Number) fields.get("block-map-offset")).intValue(),
              ((Number) fields.get("blocks")).intValue());
        }

        @Override
        public void assertComplete() {
          assertEquals(Set.of("0.1/348", "1.1/384", "1.1/400"), versions,
              "header versions covered");
          assertEquals(Set.of("dynamic", "fixed", "undo", "differencing"), types,
              "types covered");
          assertTrue(blockExtra, "no seed has block_extra");
          assertTrue(zeroEntry, "no seed has a ZERO block map entry");
        }
      };
    }

    private static boolean hasZeroEntry(byte[] image, int mapOffset, int blocks) {
      ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
      for (int i = 0; i < blocks; i++) {
        if (b.getInt(mapOffset + 4 * i) == 0xfffffffe) {
          return true;
        }
      }
      return false;
    }
  }
}
