package io.blockkit.qcow2;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.RelatedImages;
import io.blockkit.api.error.UnsupportedFeatureException;
import java.io.IOException;
import java.util.List;
import java.util.Optional;

/**
 * What create hands the image it opens to lay out: the data file it just made (kept open for the
 * caller), and no backing image (as {@code backing=null}: preallocation never reads it).
 */
final class DataFileOnly implements RelatedImages {
  private final BlockDevice dataFile;

  DataFileOnly(BlockDevice dataFile) {
    this.dataFile = dataFile;
  }

  @Override
  public Optional<BlockDevice> openBacking(String storedName, String storedFormat) {
    return Optional.empty();
  }

  @Override
  public boolean backingOverridden() {
    return true;
  }

  @Override
  public String resolve(String storedName) {
    return storedName;
  }

  @Override
  public BlockDevice openFile(String storedName, boolean readOnly) throws IOException {
    if (dataFile == null) {
      throw new UnsupportedFeatureException("No data file was created for '" + storedName + "'");
    }
    return new KeepOpen(dataFile);
  }

  @Override
  public List<String> listFolder(String storedFolder) throws IOException {
    return RelatedImages.NONE.listFolder(storedFolder);
  }
}
