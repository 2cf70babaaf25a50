package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.api.io.TempDir;

/**
 * Errors of real file systems, on tmpfs mounts made for the test (root only, see {@link
 * HostAdmin}): a read-only file system says so (issue 9, item 9), a full one says no space.
 */
class FileSystemErrorsTest {
  @TempDir Path dir;

  private static void create(FileDriver d, Path p) throws IOException {
    d.create(new CreateRequest(p.toString(), null, Options.parse("size=64k", d.createOptions())));
  }

  private static void assertReason(Reason expected, String what, Executable action) {
    ImageAccessException e = assertThrows(ImageAccessException.class, action, what);
    assertEquals(expected, e.reason(), what + ": " + e.getMessage());
    assertTrue(e.getMessage().endsWith(expected.text()), e.getMessage());
  }

  @Test
  void readOnlyFileSystemIsReportedAsSuch() throws IOException {
    Path mnt = Files.createDirectory(dir.resolve("mnt"));
    try (HostAdmin.Undo m = HostAdmin.tmpfs(mnt, "size=1m")) {
      Path img = mnt.resolve("a.img");
      create(new FileDriver(), img);
      HostAdmin.remountReadOnly(mnt);
      for (boolean useNative : new boolean[] {true, false}) {
        FileDriver d = new FileDriver(useNative);
        String which = useNative ? "(native)" : "(portable)";
        assertReason(Reason.READ_ONLY_FILE_SYSTEM, "open rw " + which,
            () -> d.open(OpenRequest.of(img.toString(), null, false)).close());
        assertReason(Reason.READ_ONLY_FILE_SYSTEM, "create over " + which, () -> create(d, img));
        assertReason(Reason.READ_ONLY_FILE_SYSTEM, "create new " + which,
            () -> create(d, mnt.resolve("b.img")));
        assertReason(Reason.READ_ONLY_FILE_SYSTEM, "delete " + which,
            () -> d.delete(img.toString()));
        try (BlockDevice ro = d.open(OpenRequest.of(img.toString(), null, true))) {
          assertEquals(64 * 1024, ro.size(), "reading still works");
        }
      }
    }
  }

  @Test
  void fullFileSystemIsNoSpace() throws IOException {
    Path mnt = Files.createDirectory(dir.resolve("mnt"));
    try (HostAdmin.Undo m = HostAdmin.tmpfs(mnt, "size=256k")) {
      Path img = mnt.resolve("a.img");
      FileDriver d = new FileDriver();
      create(d, img);
      byte[] data = new byte[1 << 20];
      data[0] = 1;
      try (BlockDevice dev = d.open(OpenRequest.of(img.toString(), null, false))) {
        ImageAccessException e = assertThrows(ImageAccessException.class,
            () -> dev.write(0, ByteBuffer.wrap(data)));
        assertEquals(Reason.NO_SPACE, e.reason(), e.getMessage());
        assertTrue(e.getMessage().contains(img.toString()), e.getMessage());
        ByteBuffer first = ByteBuffer.allocate(1);
        dev.read(0, first);
        assertArrayEquals(new byte[] {1}, first.array(), "what fitted was written");
      }
    }
  }
}
