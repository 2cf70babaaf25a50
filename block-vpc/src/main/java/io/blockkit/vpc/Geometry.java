package io.blockkit.vpc;

/**
 * A VHD's cylinder/head/sector geometry: the footer's u16 cylinders, u8 heads, u8 sectors per
 * track. Virtual PC and qemu's default size rule take the disk size from it (C x H x S sectors),
 * which is why sizes are rounded when an image is created.
 */
record Geometry(int cylinders, int heads, int sectorsPerTrack) {
  /** The largest geometry the fields hold; readers take the size from current_size instead. */
  static final Geometry MAX = new Geometry(65535, 16, 255);
  /** C x H x S of {@link #MAX}: 267382800 sectors, about 127.5 GiB. */
  static final long MAX_SECTORS = MAX.sectors();

  /** The sectors the geometry addresses. */
  long sectors() {
    return (long) cylinders * heads * sectorsPerTrack;
  }

  boolean isMax() {
    return equals(MAX);
  }

  /**
   * The geometry the VHD specification's appendix gives for a disk of {@code totalSectors}
   * sectors. It rounds down: the result addresses at most {@code totalSectors} sectors (all of
   * them only for some sizes). Windows and Hyper-V write this geometry and keep the exact size in
   * current_size.
   */
  static Geometry of(long totalSectors) {
    long total = Math.min(Math.max(totalSectors, 0), MAX_SECTORS);
    int spt;
    int heads;
    long cylTimesHeads;
    if (total >= 65535L * 16 * 63) {
      spt = 255;
      heads = 16;
      cylTimesHeads = total / spt;
    } else {
      spt = 17;
      cylTimesHeads = total / spt;
      heads = (int) Math.max(4, (cylTimesHeads + 1023) / 1024);
      if (cylTimesHeads >= heads * 1024L || heads > 16) {
        spt = 31;
        heads = 16;
        cylTimesHeads = total / spt;
      }
      if (cylTimesHeads >= heads * 1024L) {
        spt = 63;
        heads = 16;
        cylTimesHeads = total / spt;
      }
    }
    return new Geometry((int) (cylTimesHeads / heads), heads, spt);
  }

  /**
   * The smallest geometry of {@link #of} that addresses at least {@code sectors} sectors, as
   * {@code qemu-img create} searches for it (so the image may grow); {@link #MAX} for sizes at or
   * past it. Zero sectors give the all-zero geometry qemu writes for an empty disk.
   */
  static Geometry roundingUp(long sectors) {
    if (sectors <= 0) {
      return new Geometry(0, 0, 0);
    }
    if (sectors >= MAX_SECTORS) {
      return MAX;
    }
    for (long candidate = sectors; ; candidate++) {
      Geometry g = of(candidate);
      if (g.sectors() >= sectors) {
        return g;
      }
    }
  }

  @Override
  public String toString() {
    return cylinders + "/" + heads + "/" + sectorsPerTrack;
  }
}
