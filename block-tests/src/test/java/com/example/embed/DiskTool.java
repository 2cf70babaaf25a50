package com.example.embed;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.ImageInfo;
import io.blockkit.ops.Convert;
import io.blockkit.ops.ConvertResult;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.util.Locale;

/** Probes a disk image, reads its boot sector and converts it to raw, showing progress. */
public final class DiskTool {
  private DiskTool() {}

  public static void main(String[] args) throws IOException {
    run(args[0], args[1], System.out);
  }

  static void run(String image, String copy, PrintStream out) throws IOException {
    // Every driver on the class path: the file and memory protocols, raw, vdi, plugins.
    BlockRegistry registry = BlockRegistry.load();

    // The format is probed from the image's first and last bytes; read-only is enough.
    try (BlockDevice disk = registry.open(image, OpenParams.readOnlyDefaults())) {
      ImageInfo info = disk.info();
      out.printf("%s: %s, %d bytes%n", image, info.format(), info.virtualSize());

      ByteBuffer sector = ByteBuffer.allocate(512);
      disk.read(0, sector);
      boolean bootable = sector.get(510) == 0x55 && sector.get(511) == (byte) 0xaa;
      out.println(bootable ? "boot sector found" : "no boot sector");

      // Written under a hidden name and renamed when complete: a failure leaves no copy.
      ConvertResult result = Convert.from(disk).to(copy).format("raw")
          .progress((status, done, total) -> out.printf(Locale.ROOT, "%s %.0f%%%n",
              status, total == 0 ? 100.0 : 100.0 * done / total))
          .run(registry);
      out.println("copied " + result.bytes() + " bytes to " + copy);
    }
  }
}
