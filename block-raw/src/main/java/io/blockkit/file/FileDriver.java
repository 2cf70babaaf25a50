package io.blockkit.file;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;

/** The {@code file} protocol: an image stored in a host file. See the package documentation. */
public final class FileDriver implements BlockDriver {
  /** The driver's name. */
  public static final String NAME = "file";

  static final String SIZE = "size";
  static final String PREALLOCATION = "preallocation";
  private static final int ZERO_CHUNK = 1 << 20;

  private final boolean useNative;

  /** The driver ServiceLoader creates: uses Linux system calls where they work. */
  public FileDriver() {
    this(true);
  }

  /** With {@code useNative} false, only portable JDK calls (tests of the fallbacks). */
  FileDriver(boolean useNative) {
    this.useNative = useNative;
  }

  /**
   * Starts loading the native-access library (JNA, for SEEK_DATA/SEEK_HOLE, fstat, fallocate and
   * lock queries) on a background daemon thread and returns at once. Optional: the first file
   * open loads it anyway, but a short-lived program that calls this early overlaps the load (tens
   * of milliseconds) with its own start-up instead of waiting for it. Idempotent.
   */
  public static void preloadNativeAccess() {
    NativeFiles.preload();
  }

  private NativeFiles natives(Path path, boolean writable) {
    return useNative ? NativeFiles.open(path, writable) : NativeFiles.unavailable();
  }

  @Override
  public String name() {
    return NAME;
  }

  @Override
  public DriverKind kind() {
    return DriverKind.PROTOCOL;
  }

  @Override
  public String description() {
    return "Host file, with sparse-file block status and inter-process locking";
  }

  @Override
  public Set<DriverFeature> features() {
    return Set.of(DriverFeature.CREATE, DriverFeature.WRITE, DriverFeature.RESIZE);
  }

  @Override
  public List<OptionSpec> createOptions() {
    return List.of(
        OptionSpec.size(SIZE, "0", "File length in bytes"),
        OptionSpec.choice(PREALLOCATION, "off",
            "off: sparse file; full: write zeros over the whole length", "off", "full"));
  }

  @Override
  public BlockDevice open(OpenRequest request) throws IOException {
    Path path = toPath(request.location());
    String location = request.location();
    requireNotDirectory(path, location);
    FileChannel channel;
    try {
      channel = request.readOnly() ? FileChannel.open(path, StandardOpenOption.READ)
          : FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    OpenFiles.LockMode mode = !request.readOnly() ? OpenFiles.LockMode.EXCLUSIVE
        : request.forceShare() ? OpenFiles.LockMode.NONE : OpenFiles.LockMode.SHARED;
    NativeFiles natives = natives(path, !request.readOnly());
    OpenFiles.Handle handle;
    try {
      handle = OpenFiles.register(path, location, channel, natives, mode);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    return new FileDevice(this, location, path, request.readOnly(), channel, handle, natives);
  }

  /**
   * Creates the file, or truncates an existing one, to {@code size} bytes: sparse with {@code
   * preallocation=off}, written with zeros with {@code full}. Fails with {@link
   * io.blockkit.api.error.ImageLockedException} while the file is open for writing elsewhere.
   */
  @Override
  public void create(CreateRequest request) throws IOException {
    String location = request.location();
    Path path = toPath(location);
    Options o = request.options();
    long size = o.has(SIZE) ? o.size(SIZE) : 0;
    boolean full = o.has(PREALLOCATION) && o.string(PREALLOCATION).equals("full");
    requireNotDirectory(path, location);
    FileChannel channel;
    try {
      channel = FileChannel.open(path, StandardOpenOption.CREATE, StandardOpenOption.READ,
          StandardOpenOption.WRITE);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    NativeFiles natives = natives(path, true);
    OpenFiles.Handle handle;
    try {
      handle = OpenFiles.register(path, location, channel, natives, OpenFiles.LockMode.EXCLUSIVE);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
    try {
      channel.truncate(0);
      if (full) {
        writeZeros(channel, size);
      } else {
        setLength(channel, natives, size);
      }
      channel.force(true);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    } finally {
      handle.release();
    }
  }

  @Override
  public void delete(String location) throws IOException {
    Path path = toPath(location);
    requireNotDirectory(path, location);
    try {
      Files.delete(path);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
  }

  static Path toPath(String location) throws BlockException {
    if (location.isEmpty()) {
      throw new InvalidOptionException("The file name is empty");
    }
    try {
      return Path.of(location);
    } catch (InvalidPathException e) {
      throw new InvalidOptionException("'" + location + "' is not a valid file name: "
          + e.getReason());
    }
  }

  private static void requireNotDirectory(Path path, String location) throws BlockException {
    if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS) || Files.isDirectory(path)) {
      throw new ImageAccessException(location, Reason.IS_DIRECTORY, null);
    }
  }

  /** Grows or shrinks to {@code length} without writing data where the platform allows. */
  static void setLength(FileChannel channel, NativeFiles natives, long length) throws IOException {
    long current = channel.size();
    if (length <= current) {
      channel.truncate(length);
      return;
    }
    try {
      natives.truncate(length);
    } catch (NativeFiles.Unsupported e) {
      growByLastByte(channel, length);
    }
  }

  /**
   * Makes the file at least {@code length} bytes long by writing a zero as its last byte, leaving
   * a hole before it. Portable, and unlike ftruncate it never shrinks a file that a concurrent
   * write has already grown further.
   */
  static void growByLastByte(FileChannel channel, long length) throws IOException {
    ByteBuffer one = ByteBuffer.allocate(1);
    while (one.hasRemaining()) {
      channel.write(one, length - 1);
    }
  }

  private static void writeZeros(FileChannel channel, long length) throws IOException {
    ByteBuffer zeros = ByteBuffer.allocateDirect((int) Math.min(ZERO_CHUNK, Math.max(1, length)));
    long pos = 0;
    while (pos < length) {
      zeros.clear().limit((int) Math.min(zeros.capacity(), length - pos));
      while (zeros.hasRemaining()) {
        pos += channel.write(zeros, pos);
      }
    }
  }
}
