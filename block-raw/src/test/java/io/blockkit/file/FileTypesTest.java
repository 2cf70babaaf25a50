package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Only regular files and block devices hold images (issue 9, item 7): a FIFO, a socket, a
 * character device or a directory is refused with one clear error, at once, for every way in
 * (open read-only and read-write, create), in both openers. A FIFO must never block the open.
 */
class FileTypesTest {
  private static final Duration AT_ONCE = Duration.ofSeconds(20);
  @TempDir Path dir;

  private static List<FileDriver> drivers() {
    return List.of(new FileDriver(), new FileDriver(false));
  }

  private static ImageAccessException refused(FileDriver d, Path p, String how) {
    return assertTimeoutPreemptively(AT_ONCE, () -> assertThrows(ImageAccessException.class,
        () -> {
          switch (how) {
            case "create" -> d.create(new CreateRequest(p.toString(), null,
                Options.parse("size=64k", d.createOptions())));
            default -> d.open(OpenRequest.of(p.toString(), null, how.equals("ro"))).close();
          }
        }), () -> how + " " + p + " blocked");
  }

  private static void assertRefusedEverywhere(Path p, Reason reason, String detail) {
    for (FileDriver d : drivers()) {
      for (String how : List.of("ro", "rw", "create")) {
        ImageAccessException e = refused(d, p, how);
        String what = how + " " + p + ": " + e.getMessage();
        assertEquals(reason, e.reason(), what);
        assertTrue(e.getMessage().contains("'" + p + "'"), what);
        assertTrue(e.getMessage().contains(detail), what);
      }
    }
  }

  @Test
  void fifoIsRefusedWithoutBlocking() throws Exception {
    Path fifo = dir.resolve("fifo");
    Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
    assumeTrue(mk.waitFor() == 0, "mkfifo failed");
    assertRefusedEverywhere(fifo, Reason.NOT_A_FILE, "it is a FIFO");
    Path link = Files.createSymbolicLink(dir.resolve("link-to-fifo"), fifo);
    assertRefusedEverywhere(link, Reason.NOT_A_FILE, "it is a FIFO");
  }

  @Test
  void socketIsRefused() throws Exception {
    Path sock = dir.resolve("sock");
    try (ServerSocketChannel s = ServerSocketChannel.open(StandardProtocolFamily.UNIX)) {
      s.bind(UnixDomainSocketAddress.of(sock));
      assertRefusedEverywhere(sock, Reason.NOT_A_FILE, "it is a socket");
    }
  }

  /**
   * Decided: character devices are refused too. qemu-img opens them (as 0-byte raw images), but
   * no image can live there, a terminal blocks the first read, and some devices act when opened.
   */
  @Test
  void characterDevicesAreRefused() {
    for (String dev : List.of("/dev/null", "/dev/zero", "/dev/full")) {
      Path p = Path.of(dev);
      assumeTrue(Files.exists(p), dev + " is missing");
      for (String how : List.of("ro", "rw")) {
        for (FileDriver d : drivers()) {
          ImageAccessException e = refused(d, p, how);
          assertEquals(Reason.NOT_A_FILE, e.reason(), e.getMessage());
          assertTrue(e.getMessage().contains("it is a character device"), e.getMessage());
        }
      }
    }
  }

  @Test
  void directoryIsRefused() throws IOException {
    Path sub = Files.createDirectory(dir.resolve("sub"));
    assertRefusedEverywhere(sub, Reason.IS_DIRECTORY, "Is a directory");
  }

  @Test
  void blockDeviceIsAnImage() throws IOException {
    Path backing = dir.resolve("backing.img");
    byte[] data = new byte[1 << 20];
    data[4096] = 42;
    Files.write(backing, data);
    try (HostAdmin.Loop loop = HostAdmin.loop(backing)) {
      try (BlockDevice d = new FileDriver().open(OpenRequest.of(loop.device().toString(), null,
          false))) {
        assertEquals(data.length, d.size());
        ByteBuffer b = ByteBuffer.allocate(4096);
        d.read(4096, b);
        assertEquals(42, b.get(0));
        d.write(0, ByteBuffer.wrap(new byte[] {7}));
        d.flush();
      }
      // create on a device: nothing written (qemu-img's way), but it must fit
      FileDriver d = new FileDriver();
      String dev = loop.device().toString();
      d.create(new CreateRequest(dev, null, Options.parse("size=1M", d.createOptions())));
      for (String tooMuch : List.of("size=2M", "size=64k,preallocation=full")) {
        InvalidOptionException e = assertThrows(InvalidOptionException.class, () -> d.create(
            new CreateRequest(dev, null, Options.parse(tooMuch, d.createOptions()))));
        assertTrue(e.getMessage().contains(dev), e.getMessage());
      }
    }
    byte[] after = Files.readAllBytes(backing);
    assertEquals(7, after[0]);
    assertEquals(42, after[4096], "create on a device must not touch its data");
  }
}
