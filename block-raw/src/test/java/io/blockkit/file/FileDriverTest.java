package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.Extent;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.ImageLockedException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileDriverTest {
  private static final int MIB = 1 << 20;
  private final FileDriver driver = new FileDriver();
  @TempDir Path dir;

  private Path create(String name, String options) throws IOException {
    Path p = dir.resolve(name);
    driver.create(new CreateRequest(p.toString(), null,
        Options.parse(options, driver.createOptions())));
    return p;
  }

  private BlockDevice open(Path p, boolean readOnly, boolean forceShare) throws IOException {
    return driver.open(new OpenRequest(p.toString(), null, Options.empty(), readOnly, forceShare,
        null, w -> { }));
  }

  /**
   * Appending formats zero the tail of a new block with writeZeroes past the end while another
   * thread appends the next block: growing the file for the zeros must never cut off the other
   * thread's data (an ftruncate to a length read before the other write would).
   */
  @Test
  void zeroingPastTheEndNeverShrinksAConcurrentlyGrownFile() throws Exception {
    Path p = create("grow.img", "size=0");
    int unit = 4096;
    int pairs = 4000;
    try (BlockDevice d = open(p, false, false)) {
      java.util.concurrent.CyclicBarrier start = new java.util.concurrent.CyclicBarrier(2);
      Thread zeros = new Thread(() -> {
        try {
          start.await();
          for (int i = 0; i < pairs; i++) {
            d.writeZeroes(2L * i * unit, unit);
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      Thread data = new Thread(() -> {
        byte[] b = new byte[unit];
        try {
          start.await();
          for (int i = 0; i < pairs; i++) {
            Arrays.fill(b, (byte) (i % 250 + 1));
            d.write((2L * i + 1) * unit, ByteBuffer.wrap(b));
          }
        } catch (Exception e) {
          throw new AssertionError(e);
        }
      });
      zeros.start();
      data.start();
      zeros.join();
      data.join();
      assertEquals(2L * pairs * unit, d.size());
      ByteBuffer back = ByteBuffer.allocate(unit);
      for (int i = 0; i < pairs; i++) {
        back.clear();
        d.read((2L * i + 1) * unit, back);
        byte[] expected = new byte[unit];
        Arrays.fill(expected, (byte) (i % 250 + 1));
        assertArrayEquals(expected, back.array(), "unit " + (2 * i + 1) + " was cut off");
      }
    }
  }

  // ------------------------------------------------------------------ bad input

  @Test
  void missingFileIsNotFoundNamingThePath() {
    Path p = dir.resolve("nope.img");
    ImageAccessException e = assertThrows(ImageAccessException.class,
        () -> open(p, true, false));
    assertEquals(Reason.NOT_FOUND, e.reason());
    assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    assertFalse(Files.exists(p), "a failed read-write open must not create the file");
    ImageAccessException rw = assertThrows(ImageAccessException.class,
        () -> open(p, false, false));
    assertEquals(Reason.NOT_FOUND, rw.reason());
    assertFalse(Files.exists(p), "a failed read-write open must not create the file");
  }

  @Test
  void createInMissingDirectoryIsNotFound() {
    Path p = dir.resolve("no-such-dir").resolve("x.img");
    ImageAccessException e = assertThrows(ImageAccessException.class, () ->
        driver.create(new CreateRequest(p.toString(), null,
            Options.parse("size=1M", driver.createOptions()))));
    assertEquals(Reason.NOT_FOUND, e.reason());
  }

  @Test
  void directoryIsRefusedEverywhere() throws IOException {
    Path sub = Files.createDirectory(dir.resolve("sub"));
    for (boolean ro : new boolean[] {true, false}) {
      ImageAccessException e = assertThrows(ImageAccessException.class,
          () -> open(sub, ro, false));
      assertEquals(Reason.IS_DIRECTORY, e.reason());
      assertTrue(e.getMessage().contains(sub.toString()), e.getMessage());
    }
    assertEquals(Reason.IS_DIRECTORY, assertThrows(ImageAccessException.class,
        () -> driver.create(new CreateRequest(sub.toString(), null,
            Options.parse("size=1M", driver.createOptions())))).reason());
    assertEquals(Reason.IS_DIRECTORY, assertThrows(ImageAccessException.class,
        () -> driver.delete(sub.toString())).reason());
    assertTrue(Files.isDirectory(sub), "delete must not remove a directory");
  }

  @Test
  void emptyAndInvalidNamesAreOptionErrors() {
    assertThrows(InvalidOptionException.class, () -> driver.open(OpenRequest.of("", null, true)));
    assertThrows(InvalidOptionException.class,
        () -> driver.open(OpenRequest.of("a\0b", null, true)));
  }

  @Test
  void permissionDeniedIsReported() throws IOException {
    Path p = create("locked-down.img", "size=4k");
    Files.setPosixFilePermissions(p, java.util.Set.of());
    try {
      boolean root = "root".equals(System.getProperty("user.name"));
      assumeTrue(!root, "running as root: chmod cannot deny access; the mapping is covered by "
          + "accessDeniedMapsToAccessDenied");
      ImageAccessException e = assertThrows(ImageAccessException.class,
          () -> open(p, true, false));
      assertEquals(Reason.ACCESS_DENIED, e.reason());
    } finally {
      Files.setPosixFilePermissions(p, java.util.Set.of(
          java.nio.file.attribute.PosixFilePermission.OWNER_READ,
          java.nio.file.attribute.PosixFilePermission.OWNER_WRITE));
    }
  }

  @Test
  void accessDeniedMapsToAccessDenied() {
    ImageAccessException e = (ImageAccessException) FileErrors.map("/x/y.img",
        new AccessDeniedException("/x/y.img"));
    assertEquals(Reason.ACCESS_DENIED, e.reason());
    assertTrue(e.getMessage().contains("/x/y.img") && e.getMessage().contains("Permission denied"),
        e.getMessage());
  }

  /** Issue 9, item 9: a read-only file system is not a permission problem. */
  @Test
  void readOnlyFileSystemIsNotPermissionDenied() {
    assertEquals(Reason.READ_ONLY_FILE_SYSTEM, FileErrors.reason(
        new FileSystemException("/x", null, "Read-only file system")));
    ImageAccessException e = (ImageAccessException) FileErrors.forErrno("/x/y.img", 30, null);
    assertEquals("Could not access '/x/y.img': Read-only file system", e.getMessage());
  }

  @Test
  void noSpaceMapsToNoSpace() {
    assertEquals(Reason.NO_SPACE, FileErrors.reason(new IOException("No space left on device")));
    assertEquals(Reason.NO_SPACE, FileErrors.reason(
        new FileSystemException("/x", null, "No space left on device")));
    assertEquals(Reason.OTHER, FileErrors.reason(new IOException("Input/output error")));
  }

  // ------------------------------------------------------------------ locking

  @Test
  void twoWritableOpensConflict() throws IOException {
    Path p = create("a.img", "size=64k");
    try (BlockDevice first = open(p, false, false)) {
      ImageLockedException e = assertThrows(ImageLockedException.class,
          () -> open(p, false, false));
      assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
      // the refused open must not have dropped the first one's lock
      assertThrows(ImageLockedException.class, () -> open(p, false, false));
      first.write(0, ByteBuffer.wrap(new byte[] {7}));
    }
    try (BlockDevice again = open(p, false, false)) {
      assertEquals(7, read(again, 0, 1)[0]);
    }
  }

  @Test
  void readOnlyOpenWaitsForWriterUnlessForceShare() throws IOException {
    Path p = create("b.img", "size=64k");
    try (BlockDevice writer = open(p, false, false)) {
      assertThrows(ImageLockedException.class, () -> open(p, true, false));
      writer.write(10, ByteBuffer.wrap(new byte[] {42}));
      try (BlockDevice peek = open(p, true, true)) {
        assertEquals(42, read(peek, 10, 1)[0]);
      }
      // closing the force-share reader must leave the writer's lock in place
      assertThrows(ImageLockedException.class, () -> open(p, false, false));
      assertThrows(ImageLockedException.class, () -> open(p, true, false));
    }
  }

  @Test
  void readersShareAndKeepWritersOut() throws IOException {
    Path p = create("c.img", "size=64k");
    BlockDevice r1 = open(p, true, false);
    BlockDevice r2 = open(p, true, false);
    assertThrows(ImageLockedException.class, () -> open(p, false, false));
    r1.close();
    assertThrows(ImageLockedException.class, () -> open(p, false, false),
        "the second reader still holds the shared lock");
    r2.close();
    open(p, false, false).close();
  }

  @Test
  void createRefusesAFileInUse() throws IOException {
    Path p = create("d.img", "size=64k");
    try (BlockDevice writer = open(p, false, false)) {
      assertThrows(ImageLockedException.class, () -> driver.create(new CreateRequest(
          p.toString(), null, Options.parse("size=1M", driver.createOptions()))));
      assertEquals(64 * 1024, writer.size(), "the refused create must not truncate");
    }
  }

  /** Another process (python's lockf, POSIX locks like ours) holding the file keeps us out. */
  @Test
  void lockHeldByAnotherProcessIsRespected() throws Exception {
    Path p = create("e.img", "size=64k");
    String script = "import fcntl,sys,time\n"
        + "f=open(sys.argv[1],'r+b')\n"
        + "fcntl.lockf(f, fcntl.LOCK_EX)\n"
        + "print('locked', flush=True)\n"
        + "sys.stdin.read()\n";
    Process proc;
    try {
      proc = new ProcessBuilder("python3", "-c", script, p.toString()).start();
    } catch (IOException e) {
      assumeTrue(false, "python3 is not available to hold a lock from another process");
      return;
    }
    try {
      byte[] line = new byte[7];
      int n = proc.getInputStream().readNBytes(line, 0, line.length);
      assumeTrue(n == 7 && new String(line, 0, 6).equals("locked"),
          "helper process could not lock the file");
      assertThrows(ImageLockedException.class, () -> open(p, false, false));
      assertThrows(ImageLockedException.class, () -> open(p, true, false));
      try (BlockDevice peek = open(p, true, true)) {
        assertEquals(64 * 1024, peek.size());
      }
    } finally {
      proc.getOutputStream().close();
      proc.waitFor();
    }
    open(p, false, false).close();
  }

  // ------------------------------------------------------------------ create, sizes, allocation

  @Test
  void preallocationFullAllocatesAndOffStaysSparse() throws IOException {
    Path sparse = create("sparse.img", "size=8M");
    Path full = create("full.img", "size=8M,preallocation=full");
    assertEquals(8 * MIB, Files.size(sparse));
    assertEquals(8 * MIB, Files.size(full));
    try (BlockDevice s = open(sparse, true, false); BlockDevice f = open(full, true, false)) {
      assertTrue(s.allocatedSize() < 64 * 1024, "sparse file allocates " + s.allocatedSize());
      assertTrue(f.allocatedSize() >= 8 * MIB, "full file allocates " + f.allocatedSize());
      assertArrayEquals(new byte[MIB], read(f, 7 * MIB, MIB));
    }
  }

  @Test
  void createTruncatesAnExistingFile() throws IOException {
    Path p = dir.resolve("old.img");
    Files.write(p, new byte[] {1, 2, 3, 4, 5, 6, 7, 8});
    create("old.img", "size=4");
    assertArrayEquals(new byte[4], Files.readAllBytes(p));
  }

  @Test
  void deleteRemovesTheFile() throws IOException {
    Path p = create("gone.img", "size=1k");
    driver.delete(p.toString());
    assertFalse(Files.exists(p));
    assertEquals(Reason.NOT_FOUND, assertThrows(ImageAccessException.class,
        () -> driver.delete(p.toString())).reason());
  }

  @Test
  void readOnlyOpenNeverWrites() throws IOException {
    Path p = create("ro.img", "size=64k");
    FileTime old = FileTime.fromMillis(1_000_000_000_000L);
    Files.setLastModifiedTime(p, old);
    try (BlockDevice d = open(p, true, false)) {
      read(d, 0, 65536);
      d.blockStatus(0, 65536);
      d.flush();
      d.allocatedSize();
    }
    assertEquals(old, Files.getLastModifiedTime(p));
  }

  @Test
  void truncateGrowsWithAHole() throws IOException {
    Path p = create("grow.img", "size=4k");
    try (BlockDevice d = open(p, false, false)) {
      d.write(0, ByteBuffer.wrap(new byte[] {9}));
      d.truncate(16L * MIB);
      assertEquals(16L * MIB, Files.size(p));
      assertTrue(d.allocatedSize() < MIB, "grown file allocates " + d.allocatedSize());
      Extent tail = d.blockStatus(MIB, 15L * MIB);
      assertTrue(tail.zero() && !tail.data(), "grown part is " + tail);
      d.truncate(1);
      assertEquals(1, d.size());
      assertEquals(9, read(d, 0, 1)[0]);
    }
  }

  // ------------------------------------------------------------------ block status

  @Test
  void holesAreZeroAndDataIsData() throws IOException {
    Path p = create("holes.img", "size=16M");
    byte[] ones = new byte[8192];
    Arrays.fill(ones, (byte) 1);
    try (BlockDevice d = open(p, false, false)) {
      d.write(4L * MIB, ByteBuffer.wrap(ones));
      d.write(16L * MIB - 4096, ByteBuffer.wrap(ones, 0, 4096));
      List<Extent> extents = walk(d);
      assertEquals(List.of(
              "0+" + 4 * MIB + " zero",
              4 * MIB + "+8192 data@" + 4 * MIB,
              (4 * MIB + 8192) + "+" + (12 * MIB - 8192 - 4096) + " zero",
              (16 * MIB - 4096) + "+4096 data@" + (16 * MIB - 4096)),
          extents.stream().map(FileDriverTest::describe).toList());
      for (Extent e : extents) {
        if (e.data()) {
          assertTrue(e.host() == d, "data extents are hosted by the file itself");
        }
      }
      // a query inside a run starts at the query and stops at the run's end or the limit
      Extent mid = d.blockStatus(MIB, 100);
      assertEquals(MIB, mid.offset());
      assertEquals(100, mid.length());
      Extent toRunEnd = d.blockStatus(4L * MIB + 100, 16L * MIB - 4L * MIB - 100);
      assertEquals(8192 - 100, toRunEnd.length());
      assertTrue(toRunEnd.data());
    }
  }

  @Test
  void writeZeroesAndDiscardPunchHoles() throws IOException {
    Path p = create("punch.img", "size=4M,preallocation=full");
    try (BlockDevice d = open(p, false, false)) {
      long before = d.allocatedSize();
      d.writeZeroes(MIB, MIB);
      d.discard(2L * MIB, MIB);
      assertTrue(d.allocatedSize() <= before - 2L * MIB, "allocation went from " + before
          + " to " + d.allocatedSize());
      assertArrayEquals(new byte[2 * MIB], read(d, MIB, 2 * MIB));
      Extent hole = d.blockStatus(MIB, 2L * MIB);
      assertTrue(hole.zero() && hole.length() == 2L * MIB, "punched range is " + hole);
    }
  }

  /**
   * The device remembers the last data run it found (so that small queries over a large
   * allocated file do not each walk the file): every hole it makes afterwards must still show.
   */
  @Test
  void holesMadeAfterAQueryShowInTheNextQueries() throws IOException {
    Path p = create("remember.img", "size=8M,preallocation=full");
    try (BlockDevice d = open(p, false, false)) {
      for (long pos = 0; pos < 8L * MIB; pos += 64 * 1024) {
        Extent e = d.blockStatus(pos, 64 * 1024);
        assertTrue(e.data() && e.length() == 64 * 1024, "at " + pos + ": " + e);
      }
      d.writeZeroes(MIB, MIB);
      assertEquals(MIB + "+" + MIB + " zero", describe(d.blockStatus(MIB, 4L * MIB)));
      assertTrue(d.blockStatus(3L * MIB, 4096).data());
      d.discard(4L * MIB, MIB);
      assertEquals(4 * MIB + "+" + MIB + " zero", describe(d.blockStatus(4L * MIB, MIB)));
      assertTrue(d.blockStatus(6L * MIB, 4096).data());
      d.truncate(6L * MIB);
      d.truncate(8L * MIB);
      assertEquals(6 * MIB + "+" + 2 * MIB + " zero", describe(d.blockStatus(6L * MIB, 2L * MIB)));
      // and a write into a hole makes data there
      d.write(MIB, ByteBuffer.wrap(new byte[] {1}));
      assertTrue(d.blockStatus(MIB, 4096).data());
    }
  }

  @Test
  void writeZeroesPastTheEndGrowsWithoutWriting() throws IOException {
    Path p = create("zgrow.img", "size=0");
    try (BlockDevice d = open(p, false, false)) {
      d.writeZeroes(0, 8L * MIB);
      assertEquals(8L * MIB, d.size());
      assertTrue(d.allocatedSize() < MIB);
    }
  }

  @Test
  void largeHeapAndDirectBuffersRoundTrip() throws IOException {
    Path p = create("big.img", "size=0");
    byte[] data = new byte[3 * MIB + 123];
    new java.util.Random(42).nextBytes(data);
    try (BlockDevice d = open(p, false, false)) {
      d.write(17, ByteBuffer.wrap(data));
      ByteBuffer direct = ByteBuffer.allocateDirect(data.length);
      d.read(17, direct);
      direct.flip();
      byte[] back = new byte[data.length];
      direct.get(back);
      assertArrayEquals(data, back);
      assertArrayEquals(data, read(d, 17, data.length));
    }
  }

  private static String describe(Extent e) {
    return e.offset() + "+" + e.length() + (e.zero() ? " zero" : "")
        + (e.data() ? " data@" + e.hostOffset() : "");
  }

  static List<Extent> walk(BlockDevice d) throws IOException {
    List<Extent> out = new ArrayList<>();
    long pos = 0;
    long size = d.size();
    while (pos < size) {
      Extent e = d.blockStatus(pos, size - pos);
      assertEquals(pos, e.offset());
      out.add(e);
      pos = e.end();
    }
    assertEquals(size, pos);
    return out;
  }

  static byte[] read(BlockDevice d, long offset, int length) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(length);
    d.read(offset, b);
    return b.array();
  }
}
