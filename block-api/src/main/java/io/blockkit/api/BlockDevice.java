package io.blockkit.api;

import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.api.options.Options;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.List;
import java.util.Optional;
import java.util.Set;

/**
 * An open image: one node of a stack (format over protocol, with optional filters between).
 *
 * <p><b>Offsets and lengths are in bytes</b>, need no alignment, and must lie inside {@link
 * #size()}; a request reaching past the end fails with {@link
 * io.blockkit.api.error.OutOfRangeException} and changes nothing. Exception: protocol nodes with
 * {@link Capability#GROW} (files, memory) accept writes past their end and grow, the way formats
 * append data to their files.
 *
 * <p><b>Thread safety:</b> every method may be called from many threads at once. Concurrent
 * writes to overlapping ranges leave one of the writers' bytes for each byte (no torn metadata, no
 * lost allocation); reads concurrent with a write of the same range see old or new bytes. {@link
 * #close()} must not race other calls on the same device; it is idempotent.
 *
 * <p><b>Ownership:</b> a device owns its {@link #child()} and its {@link #backing()} and closes
 * them on close.
 *
 * <p><b>Backing chains:</b> a format node may have a backing node besides its protocol child.
 * Ranges this layer does not allocate read from the backing (zeros past the backing's end, and
 * zeros at the bottom of a chain); {@link #blockStatus} answers for this layer alone, with {@link
 * Extent#allocated()} false where the backing decides ({@link BackingChain} walks the chain). A
 * write that covers part of an unallocated cluster first copies the rest of the cluster from the
 * backing (copy-on-write at the format's granularity).
 *
 * <p><b>Durability:</b> a write is acknowledged when the call returns; it survives a crash only
 * after a later {@link #flush()} returns. Metadata is ordered so that a crash at any point leaves
 * an image that {@link #check} can explain and repair.
 */
public interface BlockDevice extends Closeable {

  /** The driver that opened this node. */
  BlockDriver driver();

  /** Where the stack's storage lives (a path, a memory name), for messages. */
  String location();

  /**
   * Virtual size in bytes.
   *
   * @throws IOException when the storage cannot be reached (a remote protocol's request fails)
   */
  long size() throws IOException;

  /** True when opened read-only. */
  boolean isReadOnly();

  /** What this open image supports. */
  Set<Capability> capabilities();

  /** The node below this one, if any. */
  Optional<BlockDevice> child();

  /**
   * The local file that holds this device's bytes at the same offsets, if there is one (a file
   * node, and formats such as raw that pass offsets through unchanged); empty elsewhere. For
   * copy offload and zero-copy reads (memory-mapped views): callers read it within {@link
   * #size()}, and when the device is writable may write it within {@link #size()}, then call
   * {@link #flush()}. The channel stays owned by the device: never close it.
   */
  default Optional<FileChannel> hostFile() {
    return Optional.empty();
  }

  /** The image whose content shows through this one's unallocated ranges, if one is open. */
  default Optional<BlockDevice> backing() {
    return Optional.empty();
  }

  /**
   * Records a new backing image in this image's metadata, and reads through {@code newBacking}
   * from now on; the device takes ownership of it and closes the old one. Content is not copied:
   * the caller (a rebase) decides what must be written first. Null drops the backing.
   *
   * @param link the name (and format) to store; null with {@code newBacking} null to store none
   * @throws UnsupportedFeatureException when the format has no backing files ({@link
   *     DriverFeature#BACKING})
   * @throws io.blockkit.api.error.ReadOnlyException when opened read-only
   */
  default void changeBacking(BackingLink link, BlockDevice newBacking) throws IOException {
    throw new UnsupportedFeatureException("Format '" + driver().name()
        + "' does not support backing files");
  }

  /**
   * Changes create-time options of the open image ({@code qemu-img amend}); the keys are those of
   * {@link BlockDriver#amendOptions()}.
   *
   * @throws UnsupportedFeatureException when the format cannot amend, or not this option
   * @throws io.blockkit.api.error.ReadOnlyException when opened read-only
   */
  default void amend(Options options) throws IOException {
    throw new UnsupportedFeatureException("Format '" + driver().name()
        + "' does not support amending options");
  }

  /**
   * Gives space back to the storage: blocks that read as zeros or as the backing's content are
   * released and the data is packed so the storage can shrink. Content is unchanged; concurrent
   * readers see correct data throughout, and a crash at any point leaves an image {@link #check}
   * can repair without loss.
   *
   * @throws UnsupportedFeatureException when the format cannot compact
   */
  default void compact() throws IOException {
    throw new UnsupportedFeatureException("Format '" + driver().name()
        + "' does not support compaction");
  }

  /**
   * The internal snapshots the image holds (none for formats without snapshots).
   *
   * @throws io.blockkit.api.error.CorruptImageException when the snapshot table cannot be read
   * @throws IOException when the storage fails
   */
  default List<SnapshotInfo> snapshots() throws IOException {
    return List.of();
  }

  /**
   * Reads {@code dst.remaining()} bytes starting at {@code offset} into {@code dst}, advancing its
   * position. Either every byte is read or an exception is thrown.
   *
   * @throws io.blockkit.api.error.OutOfRangeException when the range reaches past {@link #size()}
   * @throws io.blockkit.api.error.CorruptImageException when metadata on the way is invalid
   * @throws io.blockkit.api.error.DataUnavailableException when the bytes cannot be had (a
   *     truncated image, a backing file that is missing)
   * @throws IOException when the storage fails
   */
  void read(long offset, ByteBuffer dst) throws IOException;

  /**
   * Writes all of {@code src.remaining()} bytes at {@code offset}, advancing its position.
   *
   * @throws io.blockkit.api.error.ReadOnlyException when opened read-only
   * @throws io.blockkit.api.error.OutOfRangeException when the range reaches past {@link #size()}
   *     (on a node without {@link Capability#GROW})
   * @throws IOException when the storage fails; the image stays consistent
   */
  void write(long offset, ByteBuffer src) throws IOException;

  /**
   * Makes the range read as zeros, cheaply where the format can (metadata only, no data written).
   *
   * @throws io.blockkit.api.error.ReadOnlyException when opened read-only
   * @throws io.blockkit.api.error.OutOfRangeException when the range reaches past {@link #size()}
   * @throws IOException when the storage fails; the image stays consistent
   */
  void writeZeroes(long offset, long length) throws IOException;

  /**
   * Tells the image the range is no longer needed. After a discard the range reads as zeros or as
   * its old data; formats that can release space do so. Never fails for lack of support.
   *
   * @throws io.blockkit.api.error.ReadOnlyException when opened read-only
   * @throws io.blockkit.api.error.OutOfRangeException when the range reaches past {@link #size()}
   * @throws IOException when the storage fails; the image stays consistent
   */
  void discard(long offset, long length) throws IOException;

  /**
   * The status of the run starting at {@code offset}: the returned extent starts at {@code offset}
   * and covers at most {@code length} bytes (at least one), merged as far as the format cheaply
   * can.
   *
   * @throws io.blockkit.api.error.OutOfRangeException when {@code offset} is not inside the image
   * @throws io.blockkit.api.error.CorruptImageException when the metadata that answers is invalid
   * @throws IOException when the storage fails
   */
  Extent blockStatus(long offset, long length) throws IOException;

  /**
   * Makes every acknowledged write durable, through all layers.
   *
   * @throws IOException when the storage cannot make them durable: those writes may be lost
   */
  void flush() throws IOException;

  /**
   * Checks the metadata and, with a repairing mode, fixes what it can, then checks again; the
   * report describes the state after repair. Images whose format has nothing to check return
   * {@link CheckReport#clean()} only if they have {@link Capability#CHECK}; otherwise throw
   * {@link io.blockkit.api.error.UnsupportedFeatureException}.
   *
   * @throws io.blockkit.api.error.UnsupportedFeatureException when the format has no checks
   * @throws io.blockkit.api.error.ReadOnlyException when a repairing mode is asked of a read-only
   *     open
   * @throws IOException when the storage fails (corruption is reported, not thrown)
   */
  CheckReport check(CheckMode mode) throws IOException;

  /**
   * Format, sizes and format-specific fields.
   *
   * @throws IOException when the storage fails
   */
  ImageInfo info() throws IOException;

  /**
   * Changes the virtual size. Protocols grow or shrink their storage; formats that cannot resize
   * throw {@link io.blockkit.api.error.UnsupportedFeatureException}. Requires {@link
   * Capability#RESIZE}.
   *
   * @throws io.blockkit.api.error.UnsupportedFeatureException when the node cannot resize
   * @throws io.blockkit.api.error.ReadOnlyException when opened read-only
   * @throws IOException when the storage fails; the image keeps its old size or the new one
   */
  void truncate(long newSize) throws IOException;

  /**
   * Bytes this node occupies on its storage (allocated, not apparent), or -1 when unknown.
   *
   * @throws IOException when the storage fails
   */
  long allocatedSize() throws IOException;

  /**
   * Releases the node and its children. Idempotent.
   *
   * @throws IOException when flushing or releasing fails; the node is closed all the same
   */
  @Override
  void close() throws IOException;
}
