package io.blockkit.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A backing file named by an image on nginx is looked for on the same server: next to the image
 * for a relative name, at the server's root for an absolute one, as given for a URL.
 */
class RemoteBackingTest {
  private static Nginx nginx;
  private static BlockRegistry registry;
  private static final byte[] BASE = new byte[3 * RemoteOptions.BLOCK_SIZE / 2];

  @BeforeAll
  static void start() throws IOException {
    nginx = Nginx.start(false);
    new Random(5).nextBytes(BASE);
    List<BlockDriver> drivers = new ArrayList<>(BlockRegistry.load().drivers());
    drivers.add(new LinkFormat());
    registry = BlockRegistry.of(drivers);
  }

  @AfterAll
  static void stop() throws IOException {
    if (nginx != null) {
      nginx.close();
    }
  }

  private static void check(String image, String stored, String backingUrl) throws IOException {
    try (BlockDevice d = registry.open(nginx.url(image),
        OpenParams.readOnlyDefaults().withWarnings(w -> { }))) {
      assertEquals("linkfmt", d.driver().name());
      assertEquals(stored, d.info().backing().filename());
      assertEquals(backingUrl, d.info().backing().fullFilename());
      assertEquals(backingUrl, d.backing().orElseThrow().location());
      ByteBuffer all = ByteBuffer.allocate(BASE.length);
      d.read(0, all);
      assertArrayEquals(BASE, all.array());
    }
  }

  @Test
  void aRelativeBackingNameResolvesNextToTheImage() throws IOException {
    nginx.put("dir/base.raw", BASE);
    nginx.put("dir/top.link", "LINK base.raw\n".getBytes(StandardCharsets.UTF_8));
    check("dir/top.link", "base.raw", nginx.url("dir/base.raw"));
  }

  @Test
  void anAbsoluteBackingNameResolvesOnTheSameServer() throws IOException {
    nginx.put("bases/base.raw", BASE);
    nginx.put("dir/abs.link", "LINK /bases/base.raw\n".getBytes(StandardCharsets.UTF_8));
    check("dir/abs.link", "/bases/base.raw", nginx.url("bases/base.raw"));
  }

  @Test
  void aFullUrlIsTakenAsItIs() throws IOException {
    nginx.put("elsewhere/base.raw", BASE);
    String url = nginx.url("elsewhere/base.raw");
    nginx.put("dir/url.link", ("LINK " + url + "\n").getBytes(StandardCharsets.UTF_8));
    check("dir/url.link", url, url);
  }
}
