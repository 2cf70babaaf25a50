package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.DataUnavailableException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Assumptions;

/** Helpers shared by the VDI tests. */
final class TestSupport {
  static final VdiDriver DRIVER = new VdiDriver();
  /** Block maps in pages of 4 entries with one clean page kept: every scan drops pages. */
  static final VdiDriver TINY_MAP_CACHE = new VdiDriver(2, 1);

  private TestSupport() {}

  static VdiImage open(MemDevice file, boolean readOnly) throws IOException {
    return open(DRIVER, file, readOnly);
  }

  static VdiImage open(VdiDriver driver, MemDevice file, boolean readOnly) throws IOException {
    return (VdiImage) driver.open(OpenRequest.of("test.vdi", file, readOnly));
  }

  static VdiImage open(byte[] bytes, boolean readOnly) throws IOException {
    return open(new MemDevice(bytes), readOnly);
  }

  /** Creates an image with our driver into a fresh memory device. */
  static MemDevice create(Map<String, String> options) throws IOException {
    MemDevice file = MemDevice.empty();
    DRIVER.create(new io.blockkit.api.CreateRequest("test.vdi", file,
        Options.of(options, DRIVER.createOptions())));
    return file;
  }

  static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }

  static void write(BlockDevice d, long offset, byte[] data) throws IOException {
    d.write(offset, ByteBuffer.wrap(data));
  }

  /**
   * What a salvaging reader (convert --salvage) gets from {@code [offset, offset + length)}: the
   * bytes, zeros where a read failed with a DataUnavailableException, and which bytes read.
   */
  record Salvaged(byte[] bytes, boolean[] readable) {
    /** Every byte that read here reads the same in {@code after}. */
    void assertKeptIn(Salvaged after, String what) {
      for (int i = 0; i < bytes.length; i++) {
        if (readable[i] && (!after.readable[i] || after.bytes[i] != bytes[i])) {
          throw new AssertionError(what + ": byte " + i + " read " + bytes[i] + " before, "
              + (after.readable[i] ? "reads " + after.bytes[i] : "is unreadable") + " after");
        }
      }
    }

    int readableCount() {
      int n = 0;
      for (boolean r : readable) {
        n += r ? 1 : 0;
      }
      return n;
    }
  }

  static Salvaged salvage(BlockDevice d, long offset, int length) throws IOException {
    byte[] out = new byte[length];
    boolean[] ok = new boolean[length];
    int pos = 0;
    while (pos < length) {
      try {
        d.read(offset + pos, ByteBuffer.wrap(out, pos, length - pos).slice());
        Arrays.fill(ok, pos, length, true);
        break;
      } catch (DataUnavailableException e) {
        long good = e.offset() - (offset + pos);
        if (good < 0 || good >= length - pos || e.length() <= 0) {
          throw new AssertionError("unreadable range " + e.offset() + "+" + e.length()
              + " outside the read at " + (offset + pos), e);
        }
        if (good > 0) {
          d.read(offset + pos, ByteBuffer.wrap(out, pos, (int) good).slice());
          Arrays.fill(ok, pos, pos + (int) good, true);
        }
        Arrays.fill(out, pos + (int) good, pos + (int) good
            + (int) Math.min(e.length(), length - pos - good), (byte) 0);
        pos += (int) (good + Math.min(e.length(), length - pos - good));
      }
    }
    return new Salvaged(out, ok);
  }

  static boolean ci() {
    return "true".equalsIgnoreCase(System.getenv("CI"));
  }

  /**
   * The shared VDI corpus: the first {@code shared/vdi-corpus} (with its MANIFEST.tsv) found
   * walking up from the working directory, so {@code ../shared/vdi-corpus} beside the checkout
   * (docs/CORPUS.md says where its images come from). The rule for every test that reads it:
   * when it is absent the test is skipped with a visible message, and fails under
   * {@code BLOCKKIT_REQUIRE_CORPUS=1} (which {@code .ci/run} sets).
   */
  static Path corpus() {
    Optional<Path> found = findCorpus();
    if (found.isPresent()) {
      return found.get();
    }
    String msg = "VDI corpus not found (no shared/vdi-corpus/MANIFEST.tsv above "
        + Path.of("").toAbsolutePath() + "; see docs/CORPUS.md)";
    if ("1".equals(System.getenv("BLOCKKIT_REQUIRE_CORPUS"))) {
      throw new AssertionError(msg + " and BLOCKKIT_REQUIRE_CORPUS=1");
    }
    System.out.println("SKIPPED: " + msg);
    System.err.println("SKIPPED: " + msg);
    Assumptions.abort(msg);
    return null;
  }

  /** The corpus, if present; without the skip, for argument sources (see VdiCorpusTest). */
  static Optional<Path> findCorpus() {
    for (Path dir = Path.of("").toAbsolutePath(); dir != null; dir = dir.getParent()) {
      Path c = dir.resolve("shared").resolve("vdi-corpus");
      if (Files.isRegularFile(c.resolve("MANIFEST.tsv"))) {
        return Optional.of(c);
      }
    }
    return Optional.empty();
  }
}
