package io.blockkit.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;

import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;
import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

/**
 * Builds a real plugin jar at test time: a driver compiled from source into the jar only, so the
 * tool can reach it through nothing but the plugin class loader.
 */
final class PluginJars {
  /** The plugin's protocol: {@code stripes:SIZE} reads byte i as i mod 251. */
  static final String NAME = "stripes";

  private static final String SOURCE = """
      package org.example.stripes;

      import io.blockkit.api.AbstractBlockDevice;
      import io.blockkit.api.BlockDevice;
      import io.blockkit.api.BlockDriver;
      import io.blockkit.api.Capability;
      import io.blockkit.api.DriverKind;
      import io.blockkit.api.OpenRequest;
      import io.blockkit.api.options.Sizes;
      import java.io.IOException;
      import java.nio.ByteBuffer;
      import java.util.Set;

      public final class StripesDriver implements BlockDriver {
        @Override public String name() { return "stripes"; }
        @Override public DriverKind kind() { return DriverKind.PROTOCOL; }
        @Override public String description() { return "Plugin test disk: byte i is i mod 251"; }
        @Override public java.util.Set<io.blockkit.api.DriverFeature> features() { return java.util.Set.of(); }

        @Override
        public BlockDevice open(OpenRequest request) throws IOException {
          return new Device(this, request.location(),
              Sizes.parse(request.location(), "stripes size"));
        }

        static final class Device extends AbstractBlockDevice {
          private final long size;

          Device(BlockDriver driver, String location, long size) {
            super(driver, location, true, null);
            this.size = size;
          }

          @Override public long size() { return size; }
          @Override public Set<Capability> capabilities() { return Set.of(); }

          @Override
          protected void doRead(long offset, ByteBuffer dst) {
            while (dst.hasRemaining()) {
              dst.put((byte) (offset++ % 251));
            }
          }
        }
      }
      """;

  private PluginJars() {}

  /** Compiles the driver and writes {@code folder/stripes-plugin.jar}. */
  static Path build(Path work, Path folder) throws Exception {
    JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
    assertNotNull(javac, "tests need a JDK (javax.tools) to build the plugin jar");
    Path src = work.resolve("src/org/example/stripes/StripesDriver.java");
    Files.createDirectories(src.getParent());
    Files.writeString(src, SOURCE);
    Path classes = Files.createDirectories(work.resolve("classes"));
    int rc = javac.run(null, null, null, "-d", classes.toString(), "-cp",
        System.getProperty("java.class.path"), "--release", "17", src.toString());
    assertEquals(0, rc, "plugin source did not compile");
    Files.createDirectories(folder);
    Path jar = folder.resolve("stripes-plugin.jar");
    try (OutputStream o = Files.newOutputStream(jar); JarOutputStream j = new JarOutputStream(o);
        Stream<Path> files = Files.walk(classes)) {
      for (Path c : files.filter(Files::isRegularFile).sorted().toList()) {
        j.putNextEntry(new JarEntry(classes.relativize(c).toString().replace('\\', '/')));
        j.write(Files.readAllBytes(c));
        j.closeEntry();
      }
      j.putNextEntry(new JarEntry("META-INF/services/io.blockkit.api.BlockDriver"));
      j.write("org.example.stripes.StripesDriver\n".getBytes(StandardCharsets.UTF_8));
      j.closeEntry();
    }
    return jar;
  }

  /** What {@code stripes:N} holds. */
  static byte[] expected(int size) {
    byte[] b = new byte[size];
    for (int i = 0; i < size; i++) {
      b[i] = (byte) (i % 251);
    }
    return b;
  }
}
