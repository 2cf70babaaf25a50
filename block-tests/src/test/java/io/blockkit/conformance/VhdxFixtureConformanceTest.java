package io.blockkit.conformance;

import io.blockkit.api.BlockDriver;
import io.blockkit.testkit.FormatFixtureConformanceTest;
import io.blockkit.testkit.ImageFixture;
import io.blockkit.testkit.ImageFixture.Kind;
import io.blockkit.verify.formats.VhdxBuilder;
import io.blockkit.verify.formats.VhdxBuilder.Update;
import io.blockkit.vhdx.VhdxDriver;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;

/**
 * The read suite over a hand-built differencing VHDX with a dirty log, over a hand-built VHDX
 * parent, both written field by field by {@link VhdxBuilder} from the specification. The child's
 * block 0 is PARTIALLY_PRESENT (sectors 0-3 and 8-15 its own, the rest the parent's), block 1 is
 * FULLY_PRESENT only in the log (the BAT in place still says NOT_PRESENT), block 2 is the
 * parent's, the partial last block 3 is ZERO; the log also zeroes the child's sectors 8-15 of
 * block 0. Every read-only open must replay the log in memory; the expected bytes and map are
 * worked out here from those decisions.
 */
class VhdxFixtureConformanceTest extends FormatFixtureConformanceTest {
  static final int MIB = VhdxBuilder.MIB;
  static final int SECTOR = 512;
  static final long SIZE = 3L * MIB + 1024;
  static final long BAT = 2L * MIB;
  static final long META = 3L * MIB;
  static final long LOG = MIB;
  /** Payload entries per chunk with 512-byte sectors and 1 MiB blocks: the bitmap entry's index. */
  static final long CHUNK_RATIO = (1L << 23) * SECTOR / MIB;

  @Override
  protected BlockDriver driver() {
    return new VhdxDriver();
  }

  @Override
  protected int naturalBlockSize() {
    return SECTOR;
  }

  @Override
  protected ImageFixture fixture() {
    return differencingWithDirtyLog(new Random(42));
  }

  static ImageFixture differencingWithDirtyLog(Random random) {
    UUID parentData = UUID.randomUUID();
    byte[] parentContent = new byte[(int) SIZE];
    random.nextBytes(parentContent);
    VhdxBuilder parent = new VhdxBuilder(7 * MIB + 4096)
        .header(0, 10, UUID.randomUUID(), parentData, new UUID(0, 0), LOG, MIB)
        .header(1, 9, UUID.randomUUID(), UUID.randomUUID(), new UUID(0, 0), LOG, MIB)
        .regions(BAT, MIB, META, MIB)
        .metadata(META, MIB, false, SIZE, UUID.randomUUID(), SECTOR, null);
    for (int block = 0; block < 4; block++) {
      long host = (4L + block) * MIB;
      parent.bat(BAT, block, VhdxBuilder.FULLY_PRESENT, host);
      int from = block * MIB;
      parent.data(host, Arrays.copyOfRange(parentContent, from,
          (int) Math.min(SIZE, from + MIB)));
    }

    byte[] own0 = bytes(random, 16 * SECTOR);
    byte[] own1 = bytes(random, MIB);
    UUID log = UUID.randomUUID();
    Map<String, String> locator = new LinkedHashMap<>();
    locator.put("parent_linkage", "{" + parentData + "}");
    locator.put("relative_path", "parent.vhdx");
    locator.put("volume_path", "\\\\?\\Volume{26a21bda-a627-11d7-9931-806e6f6e6963}\\x.vhdx");
    VhdxBuilder child = new VhdxBuilder(7 * MIB)
        .header(0, 3, UUID.randomUUID(), UUID.randomUUID(), new UUID(0, 0), LOG, MIB)
        .header(1, 4, UUID.randomUUID(), UUID.randomUUID(), log, LOG, MIB)
        .regions(BAT, MIB, META, MIB)
        .metadata(META, MIB, false, SIZE, UUID.randomUUID(), SECTOR, locator)
        .bat(BAT, 0, VhdxBuilder.PARTIALLY_PRESENT, 4L * MIB)
        .bat(BAT, CHUNK_RATIO, VhdxBuilder.SB_PRESENT, 5L * MIB)
        .bitmap(5L * MIB, 0, 4)
        .bitmap(5L * MIB, 8, 16)
        .data(4L * MIB, own0)
        .bat(BAT, 3, VhdxBuilder.ZERO, 0)
        .data(6L * MIB, own1);
    // The log: block 1 becomes FULLY_PRESENT, and the child's sectors 8-15 of block 0 zeros.
    byte[] batPage = child.page(BAT);
    ByteBuffer.wrap(batPage).order(ByteOrder.LITTLE_ENDIAN)
        .putLong(8, (6L << 20) | VhdxBuilder.FULLY_PRESENT);
    child.logEntry(LOG, MIB, 0, 7, 0, log, 7L * MIB, 7L * MIB,
        List.of(Update.page(BAT, batPage), Update.zero(4L * MIB + 8 * SECTOR, 8 * SECTOR)));

    byte[] content = parentContent.clone();
    System.arraycopy(own0, 0, content, 0, 4 * SECTOR);
    Arrays.fill(content, 8 * SECTOR, 16 * SECTOR, (byte) 0);
    System.arraycopy(own1, 0, content, MIB, MIB);
    Arrays.fill(content, 3 * MIB, (int) SIZE, (byte) 0);
    Kind[] kinds = new Kind[(int) (SIZE / SECTOR)];
    for (int s = 0; s < kinds.length; s++) {
      int block = s * SECTOR / MIB;
      kinds[s] = switch (block) {
        case 0 -> s < 4 || s >= 8 && s < 16 ? Kind.DATA : Kind.UNALLOCATED;
        case 1 -> Kind.DATA;
        case 2 -> Kind.UNALLOCATED;
        default -> Kind.ZERO;
      };
    }
    return ImageFixture.of("child.vhdx", Map.of("child.vhdx", child.bytes(), "parent.vhdx",
            parent.bytes()), content)
        .withMap(ImageFixture.clusterMap(SECTOR, SIZE, kinds))
        .withBacking("parent.vhdx", "vhdx");
  }

  private static byte[] bytes(Random r, int n) {
    byte[] b = new byte[n];
    r.nextBytes(b);
    return b;
  }
}
