package io.blockkit.vdi;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;

/**
 * VirtualBox's open-time rules for a VDI header (vdiValidatePreHeader, vdiValidateHeader and the
 * newer trunk's block-size bounds, as the format reference describes them), written independently
 * of the driver's own parser so that a test can show VirtualBox would accept what we create.
 */
final class VirtualBoxRules {
  private VirtualBoxRules() {}

  /** The rules the image's first bytes break; empty when VirtualBox would open it. */
  static List<String> violations(byte[] image) {
    List<String> bad = new ArrayList<>();
    ByteBuffer b = ByteBuffer.wrap(image).order(ByteOrder.LITTLE_ENDIAN);
    if (b.getInt(0x40) != 0xbeda107f) {
      bad.add("signature");
    }
    int version = b.getInt(0x44);
    if (version >>> 16 != 1 && version != 2) {
      bad.add("version");
      return bad;
    }
    if (version >>> 16 != 1) {
      return bad;
    }
    long cbHeader = Integer.toUnsignedLong(b.getInt(72));
    long type = Integer.toUnsignedLong(b.getInt(76));
    int flags = b.getInt(80);
    long offBlocks = Integer.toUnsignedLong(b.getInt(340));
    long offData = Integer.toUnsignedLong(b.getInt(344));
    long cbDisk = b.getLong(368);
    long cbBlock = Integer.toUnsignedLong(b.getInt(376));
    long cbBlockExtra = Integer.toUnsignedLong(b.getInt(380));
    long cBlocks = Integer.toUnsignedLong(b.getInt(384));
    long cAllocated = Integer.toUnsignedLong(b.getInt(388));
    if (cbHeader < 384) {
      bad.add("cbHeader < 384");
    }
    if (offBlocks < 72 + 384) {
      bad.add("offBlocks inside the header");
    }
    if (offData < offBlocks + cBlocks * 4) {
      bad.add("offData overlaps the block map");
    }
    if (type < 1 || type > 4) {
      bad.add("type");
    }
    if (((flags << 8) & ~0x30100) != 0) {
      bad.add("flags");
    }
    if (cbHeader >= 400 && (version & 0xffff) == 1 && b.getInt(468) != 512) {
      bad.add("LCHS cbSector");
    }
    if (cbDisk == 0 || cbBlock == 0 || cBlocks == 0 || Long.bitCount(cbBlock) != 1) {
      bad.add("zero sizes or block size not a power of two");
    }
    if (cAllocated > cBlocks) {
      bad.add("cBlocksAllocated > cBlocks");
    }
    if (cbBlockExtra != 0 && Long.bitCount(cbBlockExtra) != 1) {
      bad.add("cbBlockExtra");
    }
    if (cbBlock * cBlocks < cbDisk) {
      bad.add("cbBlock * cBlocks < cbDisk");
    }
    if (b.getLong(392) == 0 && b.getLong(400) == 0) {
      bad.add("null uuidCreate");
    }
    if (b.getLong(408) == 0 && b.getLong(416) == 0) {
      bad.add("null uuidModify");
    }
    if (cbBlock < (128 << 10) || cbBlock > (128L << 20)) {
      bad.add("block size outside 128 KiB..128 MiB");
    }
    if (cbDisk % 512 != 0) {
      bad.add("cbDisk not a multiple of 512 (VirtualBox would round it down)");
    }
    return bad;
  }
}
