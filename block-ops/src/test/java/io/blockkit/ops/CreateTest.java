package io.blockkit.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.error.InvalidOptionException;
import io.blockkit.api.error.UnsupportedFeatureException;
import io.blockkit.registry.BlockRegistry;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CreateTest {
  @TempDir
  Path dir;

  private List<String> names() throws Exception {
    try (var s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().toList();
    }
  }

  @Test
  void createsAndReplacesOnlyWhenComplete() throws Exception {
    BlockRegistry reg = Images.registry();
    Path p = dir.resolve("new.raw");
    Create.image(p.toString()).size(1 << 20).run(reg);
    assertEquals(1 << 20, Files.size(p));
    Files.write(p, new byte[] {1, 2, 3});
    // a bad option fails before anything is made: the old file stays, nothing else appears
    assertThrows(InvalidOptionException.class, () -> Create.image(p.toString()).size(1)
        .options(Map.of("no_such_option", "1")).run(reg));
    assertThrows(InvalidOptionException.class, () -> Create.image(p.toString()).run(reg));
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(p));
    assertEquals(List.of("new.raw"), names());
    Create.image(p.toString()).options(Map.of("size", "2M")).run(reg);
    assertEquals(2 << 20, Files.size(p));
    assertEquals(List.of("new.raw"), names());
  }

  @Test
  void aCancelledCreateMakesNothing() throws Exception {
    BlockRegistry reg = Images.registry();
    Cancellation token = new Cancellation();
    token.cancel();
    assertThrows(CancelledException.class, () -> Create.image(dir.resolve("x.raw").toString())
        .size(4096).cancellation(token).run(reg));
    assertEquals(List.of(), names());
  }

  @Test
  void aBackingFileNeedsAFormatWithBackingFiles() throws Exception {
    BlockRegistry reg = Images.registry();
    Path base = dir.resolve("base.raw");
    Create.image(base.toString()).size(4096).run(reg);
    assertThrows(UnsupportedFeatureException.class, () -> Create.image(dir.resolve("o.raw")
        .toString()).backing("base.raw", "raw").run(reg));
    assertThrows(InvalidOptionException.class, () -> Create.image(dir.resolve("o.raw")
        .toString()).size(4096).options(Map.of(Create.BACKING_FORMAT, "raw")).run(reg));
    assertEquals(List.of("base.raw"), names());
  }

  @Test
  void checkedOptionsAreWhatTheImageGets() throws Exception {
    BlockRegistry reg = Images.registry();
    var o = Create.image("memory:x").size(12345).options(Map.of("preallocation", "off"))
        .checkedOptions(reg);
    assertEquals(12345L, o.get("size").orElseThrow());
    assertEquals("off", o.get("preallocation").orElseThrow());
    try (BlockDevice d = reg.open("memory:x", Images.RO)) {
      throw new AssertionError("checkedOptions created " + d.location());
    } catch (io.blockkit.api.error.ImageAccessException expected) {
      // nothing made
    }
  }
}
