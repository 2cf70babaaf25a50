package io.blockkit.api;

/**
 * What a driver can do at all, declared by {@link BlockDriver#features()} and checked by the
 * registry before it parses any option, so that an unsupported request fails with one line naming
 * the driver and the feature. What one open image can do is {@link Capability}.
 */
public enum DriverFeature {
  /** {@link BlockDriver#create} makes new images (protocols: new storage). */
  CREATE("creating images"),
  /** Images can be opened read-write. */
  WRITE("writing"),
  /** Images can have a backing image whose content shows through unallocated ranges. */
  BACKING("backing files"),
  /** {@link BlockDevice#check} examines the metadata. */
  CHECK("checks"),
  /** {@link BlockDevice#check} can repair what it finds. */
  REPAIR("repair"),
  /** {@link BlockDevice#truncate} changes the virtual size. */
  RESIZE("resizing"),
  /** {@link BlockDevice#amend} changes create-time options of an existing image. */
  AMEND("amending options"),
  /** {@link BlockDevice#compact} gives unused space back to the storage. */
  COMPACT("compaction"),
  /** Images hold internal snapshots ({@link BlockDevice#snapshots}). */
  SNAPSHOTS("internal snapshots"),
  /** {@link BlockDriver#measure} tells the size a new image needs. */
  MEASURE("size measurement");

  private final String noun;

  DriverFeature(String noun) {
    this.noun = noun;
  }

  /** What the feature is called in messages: "Format 'raw' does not support backing files". */
  public String noun() {
    return noun;
  }
}
