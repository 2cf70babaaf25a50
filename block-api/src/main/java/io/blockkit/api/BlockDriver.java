package io.blockkit.api;

import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.OptionSpec;
import io.blockkit.api.options.Options;
import java.io.IOException;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * A block driver: a protocol (file, memory), a format (vdi, raw) or a filter. Found with {@link
 * java.util.ServiceLoader} through {@code META-INF/services/io.blockkit.api.BlockDriver}.
 *
 * <p>Implementations are <b>stateless and thread-safe</b> and have a public no-argument
 * constructor; all state lives in the {@link BlockDevice} that {@link #open} returns.
 */
public interface BlockDriver {

  /**
   * Bytes from the start of the image handed to {@link #probe}: 64 KiB, enough for every header
   * blockkit recognises (VDI needs 512, QEMU probes 512, an ISO 9660 volume descriptor sits at 32
   * KiB). Shorter images give fewer bytes.
   */
  int PROBE_SIZE = 64 * 1024;

  /**
   * Bytes from the end of the image handed to {@link #probe}, for formats whose only signature is
   * a footer (a fixed VHD's last 512 bytes, a DMG's trailer). Shorter images give fewer bytes.
   */
  int PROBE_TAIL_SIZE = 4096;

  /** Probe score for exact magic. */
  int PROBE_EXACT = 100;

  /** Probe score reserved for raw, the last resort. */
  int PROBE_LAST_RESORT = 1;

  /** Short lower-case id ({@code file}, {@code memory}, {@code raw}, {@code vdi}); unique. */
  String name();

  /**
   * A hint that this driver is about to be used: start loading what its first open needs (a
   * native library, say) so that it overlaps the program's own start-up. Never fails; the default
   * does nothing.
   */
  default void preload() {}

  /**
   * Other names the registry accepts for this driver where a driver is named ({@code -f vhd} for
   * {@code vpc}), unique like names. The driver still reports {@link #name()} everywhere; probing
   * and listings see it once. Default: none.
   */
  default List<String> aliases() {
    return List.of();
  }

  /** Where the driver sits in a stack. */
  DriverKind kind();

  /** One line saying what the driver is for. */
  String description();

  /**
   * What the driver can do at all. The registry refuses a request that needs a feature the driver
   * does not declare (creating, opening read-write, a backing file, ...) before parsing options.
   */
  Set<DriverFeature> features();

  /**
   * How sure the driver is that the image is its own, from the image's first and last bytes alone:
   * 0 = not mine, 1 = reserved for raw, 100 = exact magic. A pure function: no I/O, never throws,
   * handles buffers shorter than any header. Only FORMAT drivers are probed.
   */
  default int probe(ProbeInput input) {
    return 0;
  }

  /** The options {@link #open} accepts. */
  default List<OptionSpec> openOptions() {
    return List.of();
  }

  /** The options {@link #create} accepts; a format's include {@code size}. */
  default List<OptionSpec> createOptions() {
    return List.of();
  }

  /**
   * The create options {@link BlockDevice#amend} can change on an existing image (a subset of
   * {@link #createOptions()}, as qemu-img amend takes them).
   */
  default List<OptionSpec> amendOptions() {
    return List.of();
  }

  /**
   * Opens a node: over {@code request.child()} for formats and filters, at a location for protocols.
   *
   * @throws io.blockkit.api.error.InvalidOptionException for an option the driver does not take or a bad value
   * @throws io.blockkit.api.error.CorruptImageException when the image's metadata is invalid
   * @throws io.blockkit.api.error.ImageAccessException when the storage cannot be opened (missing, permissions, locked)
   * @throws IOException when the storage fails
   */
  BlockDevice open(OpenRequest request) throws IOException;

  /**
   * Creates an image. Protocol drivers create storage at {@code request.location()}; format
   * drivers write their structures into {@code request.child()}.
   *
   * @throws io.blockkit.api.error.UnsupportedFeatureException when the driver cannot create images
   * @throws io.blockkit.api.error.InvalidOptionException for a bad create option
   * @throws IOException when the storage fails
   */
  default void create(CreateRequest request) throws IOException {
    throw new UnsupportedFeatureException("Driver '" + name() + "' does not support creating images");
  }

  /**
   * Protocol drivers: removes what {@link #create} made (used to clean up failed conversions).
   *
   * @throws io.blockkit.api.error.UnsupportedFeatureException when the protocol cannot delete
   * @throws IOException when the storage cannot be removed
   */
  default void delete(String location) throws IOException {
    throw new UnsupportedFeatureException("Driver '" + name() + "' does not support deleting images");
  }

  /**
   * Protocol drivers that can publish a new image in one step: a free location beside {@code
   * location} where the image can be created and written, then moved into place with {@link
   * #commit}, so that a crash leaves either no image or a complete one. Empty (the default) when
   * the protocol cannot, or when {@code location} must be written in place (e.g. a device).
   *
   * @throws IOException when {@code location} cannot be examined
   */
  default Optional<String> stagingLocation(String location) throws IOException {
    return Optional.empty();
  }

  /**
   * Moves the image at {@code staged} (from {@link #stagingLocation}) to {@code location} in one
   * atomic step, durable when this returns.
   *
   * @param replace whether an image already at {@code location} is replaced
   * @throws io.blockkit.api.error.ImageAccessException with reason {@code ALREADY_EXISTS} when
   *     {@code replace} is false and {@code location} exists (both are left as they were)
   * @throws UnsupportedFeatureException when the driver offers no staging
   */
  default void commit(String staged, String location, boolean replace) throws IOException {
    throw new UnsupportedFeatureException("Driver '" + name() + "' cannot move images into place");
  }

  /**
   * Protocol drivers: the locations of the entries of a folder, for formats that find related
   * images by identity rather than by name.
   *
   * @throws UnsupportedFeatureException when the protocol has no folders to list
   */
  default List<String> list(String folder) throws IOException {
    throw new UnsupportedFeatureException("Driver '" + name() + "' cannot list folders");
  }

  /**
   * Protocol drivers: one spelling of {@code location} per stored object (a file's real path), so
   * that the registry can tell that two names reach the same image and refuse a backing loop.
   * Default: the location itself.
   *
   * @throws IOException when {@code location} cannot be examined
   */
  default String canonical(String location) throws IOException {
    return location;
  }

  /**
   * Format drivers with {@link DriverFeature#MEASURE}: the size an image created with {@code
   * options} needs, to hold {@code source}'s content, or empty when {@code source} is null.
   *
   * @throws io.blockkit.api.error.UnsupportedFeatureException without {@link DriverFeature#MEASURE}
   * @throws IOException when reading {@code source} fails
   */
  default Measurement measure(Options options, BlockDevice source) throws IOException {
    throw new UnsupportedFeatureException("Block driver '" + name()
        + "' does not support size measurement");
  }
}
