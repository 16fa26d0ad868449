package org.llmwb.ui.workspace;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import org.eclipse.core.resources.IFile;
import org.eclipse.core.resources.IFolder;
import org.eclipse.core.resources.IProject;
import org.eclipse.core.resources.IResource;
import org.eclipse.core.resources.ResourcesPlugin;
import org.eclipse.core.runtime.CoreException;
import org.eclipse.core.runtime.IPath;

/**
 * The workbench keeps the files it edits in one workspace project, {@code llmwb}: layouts opened
 * from presets are copied there; files opened from disk are linked there, so editing saves to the
 * original file. Markers (Problems view) need workspace resources, which is why this exists.
 */
public final class WorkspaceFiles {
    public static final String PROJECT = "llmwb";

    private WorkspaceFiles() {
    }

    public static IProject project() throws CoreException {
        IProject p = ResourcesPlugin.getWorkspace().getRoot().getProject(PROJECT);
        if (!p.exists()) {
            p.create(null);
        }
        if (!p.isOpen()) {
            p.open(null);
        }
        return p;
    }

    /** A workspace file in the project's {@code folder} with the given text; an existing one is kept as it is. */
    public static IFile create(String folder, String name, String text) throws CoreException {
        IFolder f = folder(folder);
        IFile file = f.getFile(name);
        if (!file.exists()) {
            file.create(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), true, null);
        }
        return file;
    }

    /** The workspace file linked to a file on disk (made on first use). */
    public static IFile link(Path onDisk) throws CoreException {
        Path abs = onDisk.toAbsolutePath().normalize();
        IFile[] existing = ResourcesPlugin.getWorkspace().getRoot().findFilesForLocationURI(abs.toUri());
        for (IFile f : existing) {
            if (f.exists()) {
                return f;
            }
        }
        IFolder linked = folder("files");
        String name = abs.getFileName().toString();
        IFile file = linked.getFile(name);
        for (int i = 2; file.exists(); i++) {
            int dot = name.indexOf('.');
            file = linked.getFile(dot < 0 ? name + "-" + i : name.substring(0, dot) + "-" + i + name.substring(dot));
        }
        file.createLink(IPath.fromOSString(abs.toString()), IResource.REPLACE, null);
        return file;
    }

    private static IFolder folder(String name) throws CoreException {
        IFolder f = project().getFolder(name);
        if (!f.exists()) {
            f.create(true, true, null);
        }
        return f;
    }

    /** Replaces a file's contents (through the workspace, so listeners and markers stay right). */
    public static void write(IFile file, String text) throws CoreException {
        file.setContents(new java.io.ByteArrayInputStream(text.getBytes(StandardCharsets.UTF_8)), IResource.KEEP_HISTORY | IResource.FORCE, null);
    }

    public static String read(IFile file) throws CoreException {
        try (var in = file.getContents(true)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (java.io.IOException e) {
            throw new CoreException(org.eclipse.core.runtime.Status.error("cannot read " + file.getFullPath(), e));
        }
    }
}
