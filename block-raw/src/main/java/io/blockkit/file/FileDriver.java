package io.blockkit.file;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.BlockDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.DriverFeature;
import io.blockkit.api.DriverKind;
import io.blockkit.api.OpenRequest;
import io.blockkit.api.error.BlockException;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
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
   * of milliseconds) with its own start-up instead of waiting for it. Idempotent; does nothing
   * where JNA is not on the class path.
   */
  public static void preloadNativeAccess() {
    try {
      NativeFiles.preload();
    } catch (LinkageError noJna) {
      // NativeFiles itself cannot load without JNA: a program that opens no host file (memory,
      // nbd, http) must still run, so this hint never fails
    }
  }

  /** Loads JNA's native access (see {@link #preloadNativeAccess}). */
  @Override
  public void preload() {
    preloadNativeAccess();
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
    String location = request.location();
    Opener.Opened f = Opener.forHost(useNative).open(location,
        request.readOnly() ? Opener.Access.READ : Opener.Access.WRITE);
    OpenFiles.LockMode mode = !request.readOnly() ? OpenFiles.LockMode.EXCLUSIVE
        : request.forceShare() ? OpenFiles.LockMode.NONE : OpenFiles.LockMode.SHARED;
    OpenFiles.Handle handle = register(f, location, mode);
    return new FileDevice(this, location, request.readOnly(), f.channel(), handle, f.natives());
  }

  /**
   * Creates the file, or truncates an existing one, to {@code size} bytes: sparse with {@code
   * preallocation=off}, written with zeros with {@code full}. A block device is left as it is
   * (qemu-img's behaviour); it must be at least {@code size} bytes, and {@code full} is refused. Fails with {@link
   * io.blockkit.api.error.ImageLockedException} while the file is open elsewhere, before
   * touching it.
   */
  @Override
  public void create(CreateRequest request) throws IOException {
    String location = request.location();
    Options o = request.options();
    long size = o.has(SIZE) ? o.size(SIZE) : 0;
    boolean full = o.has(PREALLOCATION) && o.string(PREALLOCATION).equals("full");
    Opener.Opened f = Opener.forHost(useNative).open(location, Opener.Access.CREATE);
    OpenFiles.Handle handle = register(f, location, OpenFiles.LockMode.EXCLUSIVE);
    FileChannel channel = f.channel();
    try {
      if (f.blockDevice()) {
        requireDeviceFits(location, channel.size(), size, full);
        return; // a device keeps its size and its data, as with qemu-img
      }
      channel.truncate(0);
      if (full) {
        writeZeros(channel, size);
      } else {
        setLength(channel, f.natives(), size);
      }
      channel.force(true);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    } finally {
      handle.release();
    }
  }

  private static void requireDeviceFits(String location, long deviceSize, long size,
      boolean full) throws BlockException {
    if (full) {
      throw new InvalidOptionException(location + ": preallocation=full is not supported on a "
          + "block device (it is already allocated)");
    }
    if (size > deviceSize) {
      throw new InvalidOptionException(location + ": cannot grow a block device of "
          + deviceSize + " bytes to " + size + " bytes");
    }
  }

  private static OpenFiles.Handle register(Opener.Opened f, String location,
      OpenFiles.LockMode mode) throws IOException {
    try {
      return OpenFiles.register(f.stat().key(), location, f.channel(), f.natives(), mode);
    } catch (IOException e) {
      throw FileErrors.map(location, e);
    }
  }

  /** Removes the file; refuses a directory. */
  @Override
  public void delete(String location) throws IOException {
    Opener.forHost(useNative).delete(location);
  }

  /**
   * The regular files and block devices in {@code folder} ("" for the working directory), as
   * {@code folder/name}, sorted; hidden staging files and names the JDK's paths cannot spell are
   * left out.
   */
  @Override
  public List<String> list(String folder) throws IOException {
    Path dir = folder.isEmpty() ? Path.of(".") : PortableOpener.toPath(folder);
    String prefix = folder.isEmpty() || folder.endsWith("/") ? folder : folder + "/";
    try (java.util.stream.Stream<Path> entries = java.nio.file.Files.list(dir)) {
      return entries.map(p -> p.getFileName().toString())
          .filter(n -> n.indexOf('\uFFFD') < 0 && !Staging.isStaged(n))
          .filter(n -> isImageFile(dir.resolve(n)))
          .sorted().map(n -> prefix + n).toList();
    } catch (IOException e) {
      throw FileErrors.map(folder.isEmpty() ? "." : folder, e);
    }
  }

  private static boolean isImageFile(Path p) {
    try {
      HostStat.Type t = HostStat.of(p).type();
      return t == HostStat.Type.REGULAR || t == HostStat.Type.BLOCK_DEVICE;
    } catch (IOException gone) {
      return false;
    }
  }

  /** The file's real path (links resolved) when it exists, else its absolute normal form. */
  @Override
  public String canonical(String location) throws IOException {
    Path p = PortableOpener.toPath(location).toAbsolutePath().normalize();
    try {
      return p.toRealPath().toString();
    } catch (IOException missing) {
      return p.toString();
    }
  }

  /**
   * A hidden {@code .NAME.blockkit-RANDOM.tmp} beside a new or regular file ({@link Staging}).
   * None for a name ending in '/' (the open in place refuses it as a directory) or one the JDK's
   * paths cannot spell (a name that is not valid in the locale's charset): those images are
   * written in place, deleted on failure.
   */
  @Override
  public Optional<String> stagingLocation(String location) throws IOException {
    if (location.isEmpty() || location.endsWith("/")) {
      return Optional.empty();
    }
    Path path;
    try {
      path = PortableOpener.toPath(location);
    } catch (InvalidOptionException unspellable) {
      return Optional.empty();
    }
    return Staging.location(path);
  }

  @Override
  public void commit(String staged, String location, boolean replace) throws IOException {
    Staging.commit(PortableOpener.toPath(staged), PortableOpener.toPath(location), location,
        replace);
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
