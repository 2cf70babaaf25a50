package io.blockkit.testkit;

import io.blockkit.api.BlockDriver;
import io.blockkit.registry.BlockRegistry;
import java.io.IOException;
import java.util.Map;
import org.junit.jupiter.api.Nested;

/**
 * {@link FixtureConformanceTest} for a format driver: the fixture's files are put side by side on
 * the memory protocol and in a temporary folder of host files, and the whole read suite runs over
 * each. A read-only format's test is this class with two methods:
 *
 * <pre>{@code
 * class VhdxReadConformanceTest extends FormatFixtureConformanceTest {
 *   protected BlockDriver driver() { return new VhdxDriver(); }
 *   protected ImageFixture fixture() throws IOException {
 *     return ImageFixture.of("disk.vhdx", Map.of("disk.vhdx", bytesMadeByQemuImg), expectedContent)
 *         .withMap(expectedRuns);
 *   }
 * }
 * }</pre>
 */
public abstract class FormatFixtureConformanceTest extends KitSupport {

  /** The format driver under test. */
  protected abstract BlockDriver driver();

  /**
   * The known image (called once per test).
   *
   * @throws IOException when the fixture cannot be read
   */
  protected abstract ImageFixture fixture() throws IOException;

  /** The format's cluster size, which reads start, end and cross at. */
  protected int naturalBlockSize() {
    return 4096;
  }

  /**
   * The registry the image is opened with: by default {@link #registryWith}.
   *
   * @throws IOException when the registry cannot load
   */
  protected BlockRegistry registry() throws IOException {
    return registryWith(driver());
  }

  /** The read suite over the fixture's files in a folder of one protocol. */
  abstract class Placed extends FixtureConformanceTest {
    abstract Storage newStorage() throws IOException;

    @Override
    protected String subjectName() {
      return nestedName(FormatFixtureConformanceTest.this, this);
    }

    @Override
    protected BlockDriver driver() {
      return FormatFixtureConformanceTest.this.driver();
    }

    @Override
    protected ImageFixture fixture() throws IOException {
      return FormatFixtureConformanceTest.this.fixture();
    }

    @Override
    protected BlockRegistry registry() throws IOException {
      return FormatFixtureConformanceTest.this.registry();
    }

    @Override
    protected int naturalBlockSize() {
      return FormatFixtureConformanceTest.this.naturalBlockSize();
    }

    @Override
    protected String place(ImageFixture fixture) throws IOException {
      Storage storage = closeAfterTest(newStorage());
      for (Map.Entry<String, byte[]> f : fixture.files().entrySet()) {
        storage.put(f.getKey(), f.getValue());
      }
      return storage.location(fixture.image());
    }
  }

  /** The fixture on the memory protocol. */
  @Nested
  class OnMemory extends Placed {
    @Override
    Storage newStorage() throws IOException {
      return Storage.memory(registry());
    }
  }

  /** The fixture in a temporary folder of host files. */
  @Nested
  class OnFiles extends Placed {
    @Override
    Storage newStorage() throws IOException {
      return Storage.files();
    }
  }
}
