package io.blockkit.file;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.blockkit.api.error.ImageAccessException;
import io.blockkit.api.error.ImageAccessException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The file protocol's staging: a hidden sibling, moved into place by rename or link. */
class StagingTest {
  private final FileDriver driver = new FileDriver();
  @TempDir Path dir;

  private Path staged(Path target) throws Exception {
    Optional<String> s = driver.stagingLocation(target.toString());
    assertTrue(s.isPresent(), "no staging for " + target);
    Path p = Path.of(s.get());
    assertEquals(target.getParent(), p.getParent());
    assertTrue(p.getFileName().toString().matches("\\." + target.getFileName()
        + "\\.blockkit-[a-z0-9]+\\.tmp"), p.toString());
    return p;
  }

  @Test
  void newTargetAppearsOnlyOnCommitAndOnlyIfTheNameIsStillFree() throws Exception {
    Path target = dir.resolve("new.img");
    Path s = staged(target);
    assertNotEquals(s, staged(target), "each call gives a fresh name");
    Files.write(s, new byte[] {1, 2, 3});
    driver.commit(s.toString(), target.toString(), false);
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target));
    assertTrue(Files.notExists(s));

    Path again = staged(target);
    Files.write(again, new byte[] {4});
    ImageAccessException e = assertThrows(ImageAccessException.class,
        () -> driver.commit(again.toString(), target.toString(), false));
    assertEquals(Reason.ALREADY_EXISTS, e.reason());
    assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(target), "left as it was");
    assertTrue(Files.exists(again), "the staged image is the caller's to delete");
    driver.commit(again.toString(), target.toString(), true);
    assertArrayEquals(new byte[] {4}, Files.readAllBytes(target));
    try (var list = Files.list(dir)) {
      assertEquals(1, list.count());
    }
  }

  @Test
  void directoriesAndDevicesAreNotStaged() throws Exception {
    assertTrue(driver.stagingLocation(dir.toString()).isEmpty());
    if (Files.exists(Path.of("/dev/null"))) {
      assertTrue(driver.stagingLocation("/dev/null").isEmpty());
    }
  }
}
