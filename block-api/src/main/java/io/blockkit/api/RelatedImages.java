package io.blockkit.api;

import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * The means a driver gets, through its {@link OpenRequest} or {@link CreateRequest}, to open the
 * images and files its image refers to: a backing image, a VMDK's extents, a qcow2 external data
 * file. The registry behind it resolves names as qemu does, opens whole stacks, applies the user's
 * overrides ({@code backing=null}, {@code backing.*} options), detects loops and names the chain in
 * errors. Drivers never build stacks themselves.
 */
public interface RelatedImages {

  /**
   * Opens the backing image of this image.
   *
   * @param storedName the name the image's metadata records, resolved with {@link #resolve}; may be
   *     null when the format finds its backing by other means and the user named it ({@link
   *     #backingOverridden()})
   * @param storedFormat the format the metadata records, or null to probe it (a backing probed as
   *     raw is reported as a warning, never silently)
   * @return the backing, opened read-only unless the caller asked for a writable chain; empty when
   *     the user dropped it with {@code backing=null}
   * @throws io.blockkit.api.error.BackingChainException when it cannot be opened, is missing or
   *     would close a loop; the message names the chain
   * @throws IOException on other I/O failures
   */
  Optional<BlockDevice> openBacking(String storedName, String storedFormat) throws IOException;

  /** True when the user named or dropped the backing in the open options. */
  boolean backingOverridden();

  /**
   * Where a name stored in this image points, as qemu resolves it: an absolute path or a name with
   * a protocol prefix stays as it is; anything else is relative to this image's folder.
   */
  String resolve(String storedName);

  /**
   * Opens a file this image names (an extent, a data file) as a protocol node, resolved with
   * {@link #resolve}. The caller owns the node.
   *
   * @throws IOException when the file cannot be opened, naming it
   */
  BlockDevice openFile(String storedName, boolean readOnly) throws IOException;

  /**
   * Creates (or empties) a file this image names, resolved with {@link #resolve}, and opens it
   * read-write as a protocol node; for formats whose images span several files (a VMDK's
   * extents, a qcow2 external data file), during {@link BlockDriver#create}. The caller owns the node. When the create fails,
   * the registry deletes the files made this way along with the image.
   *
   * @throws UnsupportedFeatureException outside a create, or when the protocol cannot create
   */
  default BlockDevice createFile(String storedName) throws IOException {
    throw new UnsupportedFeatureException("Cannot create '" + storedName
        + "': files beside an image are created only while the image is created");
  }

  /**
   * Names of the other files in a folder, in a form {@link #openFile} and {@link #openBacking}
   * take (for formats that find a parent by identity, as VirtualBox does by UUID).
   *
   * @param storedFolder a folder resolved with {@link #resolve}, or null for this image's own
   * @throws UnsupportedFeatureException when the protocol cannot list folders
   */
  List<String> listFolder(String storedFolder) throws IOException;

  /** For requests made without a registry: every call fails, so no backing is silently dropped. */
  RelatedImages NONE = new RelatedImages() {
    @Override
    public Optional<BlockDevice> openBacking(String storedName, String storedFormat)
        throws IOException {
      throw new UnsupportedFeatureException("Cannot open the backing file '" + storedName
          + "': the image was opened without a registry (open it through BlockRegistry)");
    }

    @Override
    public boolean backingOverridden() {
      return false;
    }

    @Override
    public String resolve(String storedName) {
      return storedName;
    }

    @Override
    public BlockDevice openFile(String storedName, boolean readOnly) throws IOException {
      throw new UnsupportedFeatureException("Cannot open '" + storedName
          + "': the image was opened without a registry (open it through BlockRegistry)");
    }

    @Override
    public List<String> listFolder(String storedFolder) throws IOException {
      throw new UnsupportedFeatureException(
          "Cannot list folders: the image was opened without a registry");
    }
  };
}
