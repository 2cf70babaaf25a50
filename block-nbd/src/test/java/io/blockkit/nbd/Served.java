package io.blockkit.nbd;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.options.Options;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.nbd.protocol.Endpoint;
import io.blockkit.nbd.server.NbdServer;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.UnaryOperator;

/** A memory image served in-process by {@link NbdServer} on 127.0.0.1, for tests. */
final class Served implements Closeable {
  private static final AtomicLong NAMES = new AtomicLong();

  final String memoryName;
  final BlockDevice device;
  final NbdServer server;
  final String exportName;

  private Served(String memoryName, BlockDevice device, NbdServer server, String exportName) {
    this.memoryName = memoryName;
    this.device = device;
    this.server = server;
    this.exportName = exportName;
  }

  /** A fresh memory image of {@code size} bytes, served persistently to any number of clients. */
  static Served memory(long size) throws IOException {
    return memory(size, "disk", b -> b);
  }

  static Served memory(long size, String exportName, UnaryOperator<NbdServer.Builder> tweak)
      throws IOException {
    BlockDevice dev = memoryDevice(size);
    return serve(dev.location(), dev, exportName, tweak);
  }

  /** A fresh writable memory image, not served. */
  static BlockDevice memoryDevice(long size) throws IOException {
    MemoryDriver memory = new MemoryDriver();
    String name = "nbd-test-" + NAMES.incrementAndGet() + "-" + System.nanoTime();
    memory.create(new CreateRequest(name, null,
        Options.parse("size=" + size, memory.createOptions())));
    return memory.open(OpenRequest.of(name, null, false));
  }

  /** Serves {@code device} (closed with this). */
  static Served serve(String label, BlockDevice device, String exportName,
      UnaryOperator<NbdServer.Builder> tweak) throws IOException {
    NbdServer server = tweak.apply(NbdServer.builder(device).exportName(exportName)
        .listen(Endpoint.tcp("127.0.0.1", 0)).maxConnections(0).persistent(true)).start();
    return new Served(label, device, server, exportName);
  }

  int port() {
    return server.address().port();
  }

  /** {@code nbd://127.0.0.1:PORT/NAME}. */
  String uri() {
    return "nbd://127.0.0.1:" + port() + "/" + exportName;
  }

  /** Stops the server, closes the image and forgets it if it is a memory image. */
  @Override
  public void close() throws IOException {
    try {
      server.close();
    } finally {
      device.close();
      String store = device.location().substring(device.location().indexOf(':') + 1);
      if (device.location().startsWith("memory:") && MemoryDriver.exists(store)) {
        new MemoryDriver().delete(store);
      }
    }
  }
}
