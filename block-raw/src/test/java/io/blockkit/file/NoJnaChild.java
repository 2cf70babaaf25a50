package io.blockkit.file;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.Capability;
import io.blockkit.api.Extent;
import io.blockkit.api.error.ImageLockedException;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * Run by {@link NoJnaTest} in a JVM whose class path has no JNA: uses the file driver the way a
 * program does (through the registry) and prints what it saw as {@code key=value} lines, which the
 * test checks. Arguments: a scratch folder, and an image another process holds open read-write.
 */
public final class NoJnaChild {
  private NoJnaChild() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args[0]);
    String heldElsewhere = args[1];
    try {
      Class.forName("com.sun.jna.Native");
      System.out.println("jna=present");
    } catch (ClassNotFoundException e) {
      System.out.println("jna=absent");
    }
    BlockRegistry registry = BlockRegistry.load();
    String image = dir.resolve("disk.raw").toString();
    registry.create(image, "raw", Map.of("size", "1M"));
    byte[] pattern = new byte[8192];
    Arrays.fill(pattern, (byte) 0x5a);
    try (BlockDevice d = registry.open(image, OpenParams.defaults())) {
      System.out.println("format=" + d.info().format());
      d.write(65536, ByteBuffer.wrap(pattern));
      d.flush();
      System.out.println("size=" + d.size());
      try {
        registry.open(image, OpenParams.readOnlyDefaults()).close();
        System.out.println("second-open=allowed");
      } catch (ImageLockedException e) {
        System.out.println("second-open=locked");
      }
    }
    try (BlockDevice d = registry.open(image, OpenParams.readOnlyDefaults())) {
      byte[] back = new byte[8192];
      d.read(65536, ByteBuffer.wrap(back));
      System.out.println("read-back=" + (Arrays.equals(back, pattern) ? "same" : "different"));
      BlockDevice file = d.child().orElseThrow(); // raw over file: the file protocol's answers
      System.out.println("block-status-claimed="
          + file.capabilities().contains(Capability.BLOCK_STATUS));
      Extent e = file.blockStatus(0, file.size());
      System.out.println("first-extent=" + (e.data() ? "data" : "zero") + "," + e.length());
    }
    try (BlockDevice d = registry.open(heldElsewhere, OpenParams.defaults())) {
      System.out.println("held-elsewhere=opened");
    } catch (ImageLockedException e) {
      System.out.println("held-elsewhere=locked");
    }
    System.out.println("files-left=" + Files.list(dir).count());
  }
}
