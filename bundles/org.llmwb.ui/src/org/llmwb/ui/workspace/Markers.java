package org.llmwb.ui.workspace;

import java.util.List;

import org.eclipse.core.resources.IMarker;
import org.eclipse.core.resources.IResource;
import org.eclipse.core.runtime.CoreException;
import org.eclipse.core.runtime.ILog;
import org.llmwb.core.Problem;

/**
 * Problems of a file as workspace markers, so they show in the Problems view with file and line
 * (and as annotations in text editors). One marker type, replaced wholesale on every check.
 */
public final class Markers {
    /** Our problem marker type (declared in plugin.xml as a subtype of the platform's problem marker). */
    public static final String TYPE = "org.llmwb.ui.problem";

    private Markers() {
    }

    public static void replace(IResource file, List<Problem> problems) {
        if (file == null || !file.exists()) {
            return;
        }
        try {
            file.getWorkspace().run(monitor -> {
                file.deleteMarkers(TYPE, false, IResource.DEPTH_ZERO);
                for (Problem p : problems) {
                    IMarker m = file.createMarker(TYPE);
                    m.setAttribute(IMarker.SEVERITY, switch (p.severity()) {
                        case ERROR -> IMarker.SEVERITY_ERROR;
                        case WARNING -> IMarker.SEVERITY_WARNING;
                        case INFO -> IMarker.SEVERITY_INFO;
                    });
                    m.setAttribute(IMarker.MESSAGE, p.message() + (p.hint() == null || p.hint().isEmpty() ? "" : " — " + p.hint()));
                    if (p.location() != null && p.location().line() > 0) {
                        m.setAttribute(IMarker.LINE_NUMBER, p.location().line());
                        m.setAttribute(IMarker.LOCATION, "line " + p.location().line());
                    }
                    m.setAttribute("code", p.code());
                }
            }, file, 0, null);
        } catch (CoreException e) {
            ILog.of(Markers.class).error("could not update markers of " + file, e);
        }
    }

    public static IMarker[] of(IResource file) {
        try {
            return file.findMarkers(TYPE, false, IResource.DEPTH_ZERO);
        } catch (CoreException e) {
            return new IMarker[0];
        }
    }
}
