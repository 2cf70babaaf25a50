package io.blockkit.vdi;

import io.blockkit.api.BlockDevice;
import io.blockkit.registry.BlockRegistry;
import io.blockkit.registry.OpenParams;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;

/**
 * Images in a host folder opened through the real registry (vdi over the file protocol), for
 * tests of parents found by UUID: what was warned, and the header fields as the file holds them.
 */
final class Chains {
  final Path dir;
  final BlockRegistry registry;
  final List<String> warnings = new ArrayList<>();

  Chains(Path dir) throws IOException {
    this.dir = dir;
    this.registry = BlockRegistry.load();
  }

  String path(String name) {
    return dir.resolve(name).toString();
  }

  void put(String name, byte[] bytes) throws IOException {
    Files.createDirectories(dir.resolve(name).getParent());
    Files.write(dir.resolve(name), bytes);
  }

  /** Stores a base image {@code name}: {@code blocks} blocks, block i holding pattern(i). */
  VdiBytes putBase(String name, int blocks, int blockSize) throws IOException {
    VdiBytes base = VdiBytes.dynamic((long) blocks * blockSize, blockSize);
    for (int i = 0; i < blocks; i++) {
      base.allocate(i, i);
    }
    put(name, base.build());
    return base;
  }

  byte[] get(String name) throws IOException {
    return Files.readAllBytes(dir.resolve(name));
  }

  BlockDevice open(String name, boolean readOnly) throws IOException {
    return open(name, readOnly, Map.of());
  }

  BlockDevice open(String name, boolean readOnly, Map<String, String> options)
      throws IOException {
    return registry.open(path(name), params(readOnly, options));
  }

  OpenParams params(boolean readOnly, Map<String, String> options) {
    return OpenParams.defaults().withFormat("vdi").withReadOnly(readOnly).withOptions(options)
        .withWarnings(warnings::add);
  }

  void create(String name, Map<String, String> options) throws IOException {
    registry.create(path(name), "vdi", options);
  }

  /** Header field readers over a file's bytes (version 1.x offsets). */
  static UUID uuidAt(byte[] file, int offset) {
    return VdiHeader.uuid(ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN), offset);
  }

  static int intAt(byte[] file, int offset) {
    return ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getInt(offset);
  }

  static long longAt(byte[] file, int offset) {
    return ByteBuffer.wrap(file).order(ByteOrder.LITTLE_ENDIAN).getLong(offset);
  }

  static UUID imageUuid(byte[] file) {
    return uuidAt(file, 392);
  }

  static UUID modifyUuid(byte[] file) {
    return uuidAt(file, 408);
  }

  static UUID parentUuid(byte[] file) {
    return uuidAt(file, 424);
  }

  static UUID parentModifyUuid(byte[] file) {
    return uuidAt(file, 440);
  }

  /** Map entry {@code block} of a file whose map starts at header.offset_bmap. */
  static int entry(byte[] file, long block) {
    return intAt(file, (int) (intAt(file, 340) + 4 * block));
  }

  static byte[] readAll(BlockDevice d) throws IOException {
    ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(d.size()));
    d.read(0, b);
    return b.array();
  }
}
