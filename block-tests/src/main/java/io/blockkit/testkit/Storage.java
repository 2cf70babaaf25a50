package io.blockkit.testkit;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.options.Options;
import io.blockkit.registry.BlockRegistry;
import java.io.Closeable;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A folder of images on one protocol, for suites that put several named files side by side (a
 * backing chain, a fixture's files): {@link #memory} or {@link #files}. Names are plain file
 * names, so that an image's backing stored as a relative name resolves to its neighbour. Closing
 * the storage removes everything in it.
 */
public abstract class Storage implements Closeable {

  /** A fresh folder of the {@code memory} protocol (which must be in {@code registry}). */
  public static Storage memory(BlockRegistry registry) {
    KitSupport.requireDriver(registry, "memory");
    return new MemoryFolder(registry.find("memory").orElseThrow(), "kit-" + KitSupport.newName());
  }

  /**
   * A fresh temporary folder of host files.
   *
   * @throws IOException when the temporary folder cannot be made
   */
  public static Storage files() throws IOException {
    return new HostFolder(Files.createTempDirectory("blockkit-kit-"));
  }

  /** The protocol's driver name: {@code memory} or {@code file}. */
  public abstract String protocol();

  /** What the registry opens for the file {@code name} of this folder. */
  public abstract String location(String name);

  /**
   * Stores {@code bytes} as the file {@code name}, replacing it.
   *
   * @throws IOException when the bytes cannot be stored
   */
  public abstract void put(String name, byte[] bytes) throws IOException;

  /**
   * The bytes of the file {@code name}.
   *
   * @throws IOException when the object cannot be read
   */
  public abstract byte[] get(String name) throws IOException;

  public abstract boolean exists(String name) throws IOException;

  public abstract void delete(String name) throws IOException;

  @Override
  public String toString() {
    return protocol();
  }

  /** Named memory stores under a folder prefix; remembers every name it handed out. */
  private static final class MemoryFolder extends Storage {
    private final BlockDriver driver;
    private final String folder;
    private final Set<String> names = new LinkedHashSet<>();

    MemoryFolder(BlockDriver driver, String folder) {
      this.driver = driver;
      this.folder = folder;
    }

    @Override
    public String protocol() {
      return "memory";
    }

    private synchronized String path(String name) {
      names.add(name);
      return folder + "/" + name;
    }

    @Override
    public String location(String name) {
      return "memory:" + path(name);
    }

    @Override
    public void put(String name, byte[] bytes) throws IOException {
      String path = path(name);
      driver.create(new CreateRequest(path, null, Options.of(Map.of(), driver.createOptions())));
      try (BlockDevice d = driver.open(OpenRequest.of(path, null, false))) {
        d.write(0, ByteBuffer.wrap(bytes));
      }
    }

    @Override
    public byte[] get(String name) throws IOException {
      try (BlockDevice d = driver.open(OpenRequest.of(path(name), null, true))) {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(d.size()));
        d.read(0, b);
        return b.array();
      }
    }

    @Override
    public boolean exists(String name) throws IOException {
      try (BlockDevice d = driver.open(OpenRequest.of(path(name), null, true))) {
        return true;
      } catch (ImageAccessException e) {
        if (e.reason() == ImageAccessException.Reason.NOT_FOUND) {
          return false;
        }
        throw e;
      }
    }

    @Override
    public void delete(String name) throws IOException {
      driver.delete(path(name));
    }

    @Override
    public synchronized void close() throws IOException {
      for (String name : names) {
        if (exists(name)) {
          driver.delete(folder + "/" + name);
        }
      }
      names.clear();
    }
  }

  /** A temporary host folder. */
  private static final class HostFolder extends Storage {
    private final Path dir;

    HostFolder(Path dir) {
      this.dir = dir;
    }

    @Override
    public String protocol() {
      return "file";
    }

    @Override
    public String location(String name) {
      return dir.resolve(name).toString();
    }

    @Override
    public void put(String name, byte[] bytes) throws IOException {
      Files.write(dir.resolve(name), bytes);
    }

    @Override
    public byte[] get(String name) throws IOException {
      return Files.readAllBytes(dir.resolve(name));
    }

    @Override
    public boolean exists(String name) {
      return Files.exists(dir.resolve(name));
    }

    @Override
    public void delete(String name) throws IOException {
      Files.delete(dir.resolve(name));
    }

    @Override
    public void close() throws IOException {
      try (Stream<Path> all = Files.walk(dir)) {
        all.sorted(Comparator.reverseOrder()).forEach(p -> {
          try {
            Files.delete(p);
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
      } catch (UncheckedIOException e) {
        throw e.getCause();
      }
    }
  }
}
