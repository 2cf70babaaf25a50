package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.mockito.ArgumentMatchers.any;
import static org.mockito.ArgumentMatchers.anyLong;
import static org.mockito.ArgumentMatchers.eq;
import static org.mockito.Mockito.mock;
import static org.mockito.Mockito.never;
import static org.mockito.Mockito.times;
import static org.mockito.Mockito.verify;
import static org.mockito.Mockito.withSettings;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.mockito.AdditionalAnswers;

/**
 * Which chunks of a source in a local file convert reads into its buffer and which it copies
 * from a mapped view: after a chunk of mostly zeros, the next is mapped (zeros then cost no copy);
 * after a chunk of data, the next is read (a write from a buffer just read is the faster one).
 * The source device is a spy, so a mapped chunk shows as a chunk the device was never asked for.
 */
class CopierReadPathTest {
  private static final int CHUNK = Copier.CHUNK;

  @TempDir
  Path dir;

  @Test
  void chunksAfterZerosAreMappedAndChunksAfterDataAreRead() throws Exception {
    // chunk 0 zeros (written, so not a hole), 1 and 2 data, 3 zeros, 4 data, 5 data
    boolean[] data = {false, true, true, false, true, true};
    byte[] model = new byte[data.length * CHUNK];
    Random rnd = new Random(7);
    for (int c = 0; c < data.length; c++) {
      if (data[c]) {
        byte[] d = new byte[CHUNK];
        rnd.nextBytes(d);
        System.arraycopy(d, 0, model, c * CHUNK, CHUNK);
      }
    }
    Path file = dir.resolve("src.raw");
    Files.write(file, model);
    BlockRegistry reg = Images.registry();
    String dst = "memory:path-" + UUID.randomUUID();
    try (BlockDevice real = reg.open(file.toString(), Images.RO)) {
      assertTrue(real.hostFile().isPresent(), "raw over a file names its file");
      BlockDevice src = mock(BlockDevice.class,
          withSettings().defaultAnswer(AdditionalAnswers.delegatesTo(real)));
      Convert.from(src).to(dst).format("raw").inFlight(1).run(reg);
      assertArrayEquals(model, Images.read(reg, dst));
      // chunk 0: the first is mapped; 1 follows zeros; 2 follows data; 3 follows data (read,
      // and found to be zeros); 4 follows zeros; 5 follows data
      boolean[] read = {false, false, true, true, false, true};
      for (int c = 0; c < read.length; c++) {
        verify(src, read[c] ? times(1) : never()).read(eq((long) c * CHUNK), any(ByteBuffer.class));
      }
      verify(src, times(3)).read(anyLong(), any(ByteBuffer.class));
    }
  }
}
