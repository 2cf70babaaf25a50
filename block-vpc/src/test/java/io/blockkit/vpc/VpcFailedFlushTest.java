package io.blockkit.vpc;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.fail;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.ForwardingBlockDevice;
import io.blockkit.api.OpenRequest;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A flush that fails inside a request's commit leaves sector bits set in memory but not in the
 * file. A later write into those sectors must not go in place before the bits reach the file:
 * a crash would show part of it (the sectors whose bits the file has) and not the rest.
 */
class VpcFailedFlushTest {
  private static final int BLOCK = 4096;

  @TempDir
  Path dir;

  /** The file under the image, whose flushes fail while {@link #failing} is set. */
  private static final class FlakyFlush extends ForwardingBlockDevice {
    volatile boolean failing;

    FlakyFlush(BlockDevice inner) {
      super(inner.driver(), inner.location(), false, inner, true);
    }

    @Override
    protected void doFlush() throws IOException {
      if (failing) {
        throw new IOException("test: flush failed");
      }
      super.doFlush();
    }
  }

  @Test
  void aWriteRetriedAfterAFailedFlushIsNeverTornOnDisk() throws IOException {
    Path p = dir.resolve("torn.vhd");
    Vhds.create(p.toString(), Map.of("size", "16K", "block_size", "4K", "force_size", "on"));
    byte[] old = Vhds.pattern(1, BLOCK);
    byte[] next = Vhds.pattern(2, BLOCK);
    FlakyFlush file = new FlakyFlush(Vhds.open(p.toString(), "file", false));
    BlockDevice d = new VpcDriver().open(OpenRequest.forDriver(new VpcDriver(), p.toString(),
        file, false));
    try {
      Vhds.write(d, 0, old);
      // Sectors 5..7 lose their bits (they read zeros and hold no data).
      d.discard(2560, BLOCK - 2560);
      Arrays.fill(old, 2560, BLOCK, (byte) 0);
      file.failing = true;
      // The write claims sectors 5..7; the commit of their bits fails at its flush.
      assertThrows(IOException.class, () -> Vhds.write(d, 0, next));
      // A client retries. Every bit is set in memory now, but not in the file.
      try {
        Vhds.write(d, 0, next);
      } catch (IOException e) {
        // Failing is fine: the bits could not be committed first.
      }
    } finally {
      try {
        d.close();
      } catch (IOException e) {
        // The bits still cannot be committed.
      }
    }
    try (BlockDevice reopened = Vhds.open(p.toString(), "vpc", true)) {
      byte[] block = Vhds.read(reopened, 0, BLOCK);
      if (!Arrays.equals(block, old) && !Arrays.equals(block, next)) {
        fail("block 0 holds neither its old nor its new contents (first differences: old at "
            + Arrays.mismatch(block, old) + ", new at " + Arrays.mismatch(block, next) + ")");
      }
    }
  }

  @Test
  void aRetryAfterTheFlushRecoversIsDurable() throws IOException {
    Path p = dir.resolve("retry.vhd");
    Vhds.create(p.toString(), Map.of("size", "16K", "block_size", "4K", "force_size", "on"));
    byte[] next = Vhds.pattern(2, BLOCK);
    FlakyFlush file = new FlakyFlush(Vhds.open(p.toString(), "file", false));
    try (BlockDevice d = new VpcDriver().open(OpenRequest.forDriver(new VpcDriver(),
        p.toString(), file, false))) {
      Vhds.write(d, 0, Vhds.pattern(1, BLOCK));
      d.discard(2560, BLOCK - 2560);
      file.failing = true;
      assertThrows(IOException.class, () -> Vhds.write(d, 0, next));
      file.failing = false;
      Vhds.write(d, 0, next);
      // What a crash right now would leave: the file as it is, before any flush of the retry.
      try (BlockDevice crash = Vhds.open(copy(p).toString(), "vpc", true)) {
        assertArrayEquals(next, Vhds.read(crash, 0, BLOCK), "the retried write, whole");
      }
    }
  }

  private Path copy(Path p) throws IOException {
    Path c = dir.resolve("crash-" + p.getFileName());
    Files.copy(p, c);
    return c;
  }
}
