package io.blockkit.api;

import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What {@link BlockDevice#info} reports, with qemu-img's meanings.
 *
 * @param filename the image's location
 * @param format the driver name ({@code vdi}, {@code raw}, {@code file})
 * @param virtualSize bytes the guest sees
 * @param actualSize bytes the image occupies on its storage, or -1 when unknown
 * @param clusterSize the format's allocation unit, or 0 when it has none
 * @param dirty the image is marked as not cleanly closed
 * @param formatSpecific ordered extra fields (kebab-case keys, values are strings, numbers,
 *     booleans, lists or maps), e.g. the VDI header
 * @param backing the backing image the metadata names, or null when it names none (qemu-img's
 *     {@code backing-filename}, {@code full-backing-filename}, {@code backing-filename-format})
 */
public record ImageInfo(String filename, String format, long virtualSize, long actualSize,
    long clusterSize, boolean dirty, Map<String, Object> formatSpecific, BackingLink backing) {

  public ImageInfo {
    formatSpecific = Collections.unmodifiableMap(new LinkedHashMap<>(formatSpecific));
  }

  /** An image with no backing file. */
  public ImageInfo(String filename, String format, long virtualSize, long actualSize,
      long clusterSize, boolean dirty, Map<String, Object> formatSpecific) {
    this(filename, format, virtualSize, actualSize, clusterSize, dirty, formatSpecific, null);
  }
}
