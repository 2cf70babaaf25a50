package io.blockkit.cli;

import io.blockkit.api.BlockDevice;
import io.blockkit.api.SnapshotInfo;
import java.util.List;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code snapshot}: qemu-img snapshot. Listing works for every format (those without internal
 * snapshots list none); creating, applying and deleting are refused with a clear error, because
 * no blockkit driver writes snapshot tables yet. Reading a snapshot's contents is {@code convert
 * -l}.
 */
@Command(name = "snapshot", mixinStandardHelpOptions = true,
    description = "List an image's internal snapshots (-l, the default). Creating, applying and "
        + "deleting them (-c, -a, -d) is not supported yet.",
    footer = {"", "Read a snapshot's contents with 'blockkit convert -l snapshot.name=NAME'."})
final class SnapshotCommand extends ImageCommand {
  @Option(names = "--output", paramLabel = "human|json",
      description = "Output format of -l (default human; json: a list of qemu's snapshot objects).")
  String output;

  @Option(names = {"-q", "--quiet"}, description = Texts.QUIET)
  boolean quiet;

  @Option(names = {"-U", "--force-share"}, description = Texts.FORCE_SHARE)
  boolean forceShare;

  @ArgGroup(exclusive = true)
  Action action;

  /** qemu-img takes exactly one of these. */
  static final class Action {
    @Option(names = "-l", description = "List the snapshots (the default).")
    boolean list;

    @Option(names = "-c", paramLabel = "SNAPSHOT", description = "Create a snapshot (not supported).")
    String create;

    @Option(names = "-a", paramLabel = "SNAPSHOT", description = "Revert the image to a snapshot (not supported).")
    String apply;

    @Option(names = "-d", paramLabel = "SNAPSHOT", description = "Delete a snapshot (not supported).")
    String delete;
  }

  @Parameters(paramLabel = "FILE", description = "The image.")
  String file;

  @Override
  public Integer call() throws Exception {
    boolean json = json(output);
    if (action != null && !action.list) {
      String[] verbAndName = action.create != null ? new String[] {"create", action.create}
          : action.apply != null ? new String[] {"apply", action.apply}
          : new String[] {"delete", action.delete};
      throw new CliException(1, "Could not " + verbAndName[0] + " snapshot '" + verbAndName[1]
          + "' of '" + file + "': not supported (blockkit lists and reads internal snapshots "
          + "but does not write them)");
    }
    try (BlockDevice dev = env.open(file, imageOpts, format, true, forceShare)) {
      List<SnapshotInfo> list = dev.snapshots();
      if (quiet) {
        return 0;
      }
      if (json) {
        env.out.println(Json.pretty(Snapshots.toJson(list)));
      } else {
        Snapshots.printTable(env.out, list);
      }
    }
    return 0;
  }
}
