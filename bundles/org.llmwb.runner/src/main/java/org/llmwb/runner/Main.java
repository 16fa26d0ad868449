package org.llmwb.runner;

import java.io.PrintWriter;

import org.llmwb.core.InputException;
import org.llmwb.core.result.EnvFingerprint;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * {@code llmwb}: size models on GPUs, plan parallelism, run experiments, and serve the runner
 * protocol. Exit codes: 0 ok, 1 bad input (message says where and why), 2 bad usage, 3 internal error.
 */
@Command(name = "llmwb", mixinStandardHelpOptions = true, version = "llmwb " + EnvFingerprint.VERSION,
        description = "LLM Inference Workbench: KV cache, memory, roofline and parallelism calculators, experiments, and the runner.",
        subcommands = {ModelsCommand.class, GpusCommand.class, KvCommand.class, MemCommand.class, RooflineCommand.class, PlanCommand.class,
                RunCommand.class, ServeCommand.class, CeilingsCommand.class, KernelReportCommand.class, MakeCheckpointCommand.class, GenerateCommand.class, TokenizeCommand.class, EvalCommand.class, LessonCommand.class, BenchCommand.class, SimulateCommand.class, ProfileCommand.class, CompareCommand.class, TrainCommand.class, CommandLine.HelpCommand.class})
public final class Main implements Runnable {
    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    public static void main(String[] args) {
        System.exit(execute(args, new PrintWriter(System.out, true), new PrintWriter(System.err, true)));
    }

    /** Runs a command line, writing to the given streams; returns the exit code. */
    public static int execute(String[] args, PrintWriter out, PrintWriter err) {
        CommandLine cl = new CommandLine(new Main());
        cl.setOut(out);
        cl.setErr(err);
        cl.setCaseInsensitiveEnumValuesAllowed(true);
        // every subcommand gets --help and --version, so `llmwb <command> --help` works despite required options
        cl.getSubcommands().values().forEach(sub -> sub.getCommandSpec().mixinStandardHelpOptions(true));
        cl.setExecutionExceptionHandler((ex, cmd, parsed) -> {
            if (ex instanceof InputException ie) {
                err.println("llmwb " + cmd.getCommandName() + ": " + ie.getMessage());
                return 1;
            }
            err.println("llmwb " + cmd.getCommandName() + ": internal error: " + ex);
            ex.printStackTrace(err);
            return 3;
        });
        return cl.execute(args);
    }

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
