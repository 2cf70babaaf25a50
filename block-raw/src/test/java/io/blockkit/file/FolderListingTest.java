package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import io.blockkit.api.error.ImageAccessException;
import io.blockkit.memory.MemoryDriver;
import io.blockkit.api.CreateRequest;
import io.blockkit.api.options.Options;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Listing folders and canonical names, which backing chains use to find parents and loops. */
class FolderListingTest {
  private final FileDriver files = new FileDriver();

  @Test
  void listsImageFilesOnlySortedAsFolderSlashName(@TempDir Path dir) throws Exception {
    Files.write(dir.resolve("b.vdi"), new byte[1]);
    Files.write(dir.resolve("a.vdi"), new byte[1]);
    Files.createDirectory(dir.resolve("sub"));
    Files.write(dir.resolve(".a.vdi.blockkit-1x2y.tmp"), new byte[1]); // a staged image
    Files.createSymbolicLink(dir.resolve("link.vdi"), dir.resolve("a.vdi"));
    Files.createSymbolicLink(dir.resolve("dangling"), dir.resolve("gone"));
    String folder = dir.toString();
    assertEquals(List.of(folder + "/a.vdi", folder + "/b.vdi", folder + "/link.vdi"),
        files.list(folder));
    assertEquals(files.list(folder), files.list(folder + "/"));
    ImageAccessException e = assertThrows(ImageAccessException.class,
        () -> files.list(dir.resolve("missing").toString()));
    assertEquals(ImageAccessException.Reason.NOT_FOUND, e.reason());
  }

  @Test
  void canonicalNamesMeetThroughLinksAndDots(@TempDir Path dir) throws Exception {
    Files.write(dir.resolve("a.vdi"), new byte[1]);
    Files.createSymbolicLink(dir.resolve("link.vdi"), dir.resolve("a.vdi"));
    String a = files.canonical(dir.resolve("a.vdi").toString());
    assertEquals(a, files.canonical(dir.resolve("link.vdi").toString()));
    assertEquals(a, files.canonical(dir.resolve("sub/../a.vdi").toString()));
    assertNotEquals(a, files.canonical(dir.resolve("b.vdi").toString()));
    // A missing file still has a stable name: its absolute, normal form.
    assertEquals(files.canonical(dir.resolve("b.vdi").toString()),
        files.canonical(dir.resolve("x/../b.vdi").toString()));
  }

  @Test
  void memoryNamesListLikeAFlatFolder() throws Exception {
    MemoryDriver mem = new MemoryDriver();
    String base = "listing-" + System.nanoTime();
    for (String n : List.of(base + "/x", base + "/y", base + "/sub/z", base + "z")) {
      mem.create(new CreateRequest(n, null, Options.of(java.util.Map.of("size", "1k"),
          mem.createOptions())));
    }
    assertEquals(List.of(base + "/x", base + "/y"), mem.list(base + "/"));
    assertEquals(List.of(base + "/x", base + "/y"), mem.list(base + "/x"));
  }
}
