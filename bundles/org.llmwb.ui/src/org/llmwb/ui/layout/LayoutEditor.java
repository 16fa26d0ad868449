package org.llmwb.ui.layout;

import java.beans.PropertyChangeListener;
import java.nio.file.Path;
import java.util.EventObject;
import java.util.List;

import org.eclipse.core.resources.IFile;
import org.eclipse.core.runtime.CoreException;
import org.eclipse.core.runtime.IProgressMonitor;
import org.eclipse.draw2d.IFigure;
import org.eclipse.draw2d.SWTGraphics;
import org.eclipse.draw2d.geometry.Rectangle;
import org.eclipse.gef.DefaultEditDomain;
import org.eclipse.gef.GraphicalViewer;
import org.eclipse.gef.KeyHandler;
import org.eclipse.gef.LayerConstants;
import org.eclipse.gef.MouseWheelHandler;
import org.eclipse.gef.MouseWheelZoomHandler;
import org.eclipse.gef.commands.CommandStack;
import org.eclipse.gef.editparts.LayerManager;
import org.eclipse.gef.editparts.ScalableFreeformRootEditPart;
import org.eclipse.gef.palette.PaletteRoot;
import org.eclipse.gef.ui.actions.ActionRegistry;
import org.eclipse.gef.ui.actions.GEFActionConstants;
import org.eclipse.gef.ui.parts.GraphicalEditorWithFlyoutPalette;
import org.eclipse.gef.ui.parts.GraphicalViewerKeyHandler;
import org.eclipse.jface.dialogs.MessageDialog;
import org.eclipse.swt.SWT;
import org.eclipse.swt.custom.SashForm;
import org.eclipse.swt.graphics.GC;
import org.eclipse.swt.graphics.Image;
import org.eclipse.swt.graphics.ImageData;
import org.eclipse.swt.graphics.ImageLoader;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.swt.widgets.FileDialog;
import org.eclipse.ui.IEditorInput;
import org.eclipse.ui.IEditorSite;
import org.eclipse.ui.IFileEditorInput;
import org.eclipse.ui.PartInitException;
import org.eclipse.ui.actions.ActionFactory;
import org.eclipse.ui.views.contentoutline.IContentOutlinePage;
import org.llmwb.core.InputException;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.layout.Layout;
import org.llmwb.core.layout.LayoutAnalysis;
import org.llmwb.core.layout.LayoutColors;
import org.llmwb.core.layout.LayoutExport;
import org.llmwb.core.layout.LayoutSvg;
import org.llmwb.core.layout.LayoutYaml;
import org.llmwb.core.result.AtomicFiles;
import org.llmwb.ui.layout.parts.DiagramEditPart;
import org.llmwb.ui.layout.parts.LayoutContext;
import org.llmwb.ui.layout.parts.LayoutEditPartFactory;
import org.llmwb.ui.workspace.Markers;
import org.llmwb.ui.workspace.WorkspaceFiles;

/**
 * The Parallelism Layout editor for {@code .llmwb-layout} files (GEF): pools of GPUs on the left,
 * the live panel of memory, communication and problems on the right. Every edit is a command on
 * the command stack (undo/redo); after each one the layout is re-analysed by the core planner, the
 * figures and panel are refreshed from that analysis, and the file's Problems markers replaced.
 */
public class LayoutEditor extends GraphicalEditorWithFlyoutPalette {
    public static final String ID = "org.llmwb.ui.layout.editor";

    private Layout layout;
    private LayoutContext context;
    private LayoutPanel panel;
    private LayoutOutlinePage outline;
    private IFile file;
    private final PropertyChangeListener onChange = e -> modelChanged();

    public LayoutEditor() {
        setEditDomain(new DefaultEditDomain(this));
    }

    @Override
    public void init(IEditorSite site, IEditorInput input) throws PartInitException {
        if (!(input instanceof IFileEditorInput fi)) {
            throw new PartInitException("the layout editor opens workspace files; use File > Open Layout… or a preset");
        }
        file = fi.getFile();
        try {
            layout = LayoutYaml.parse(WorkspaceFiles.read(file), file.getName());
        } catch (InputException e) {
            Markers.replace(file, e.problems());
            throw new PartInitException(file.getName() + " is not a valid layout:\n" + e.getMessage());
        } catch (CoreException e) {
            throw new PartInitException(e.getStatus());
        }
        context = new LayoutContext(layout, analyze());
        super.init(site, input);
        setPartName(file.getName());
        layout.addListener(onChange);
        Markers.replace(file, context.report().problems());
    }

    private LayoutAnalysis.Report analyze() {
        return LayoutAnalysis.analyze(layout, GpuCatalog.builtIn(), file.getName());
    }

    /** The palette starts pinned open, so the tools are in sight on first use. */
    @Override
    protected org.eclipse.gef.ui.palette.FlyoutPaletteComposite.FlyoutPreferences getPalettePreferences() {
        return new org.eclipse.gef.ui.palette.FlyoutPaletteComposite.FlyoutPreferences() {
            private int dock = org.eclipse.draw2d.PositionConstants.WEST;
            private int state = org.eclipse.gef.ui.palette.FlyoutPaletteComposite.STATE_PINNED_OPEN;
            private int width = 120;

            @Override
            public int getDockLocation() {
                return dock;
            }

            @Override
            public int getPaletteState() {
                return state;
            }

            @Override
            public int getPaletteWidth() {
                return width;
            }

            @Override
            public void setDockLocation(int location) {
                dock = location;
            }

            @Override
            public void setPaletteState(int s) {
                state = s;
            }

            @Override
            public void setPaletteWidth(int w) {
                width = w;
            }
        };
    }

    @Override
    protected PaletteRoot getPaletteRoot() {
        return LayoutPalette.create();
    }

    @Override
    public void createPartControl(Composite parent) {
        SashForm sash = new SashForm(parent, SWT.HORIZONTAL);
        Composite left = new Composite(sash, SWT.NONE);
        left.setLayout(new org.eclipse.swt.layout.FillLayout());
        super.createPartControl(left);
        panel = new LayoutPanel(sash, new LayoutPanel.Actions(this::setColorBy, () -> zoom().zoomIn(), () -> zoom().zoomOut(), this::showFlags,
                this::exportPng, this::exportSvg));
        sash.setWeights(64, 36);
        panel.show(layout, context.report(), context.colorBy());
        ActionRegistry reg = getActionRegistry();
        getEditorSite().getActionBars().setGlobalActionHandler(ActionFactory.UNDO.getId(), reg.getAction(ActionFactory.UNDO.getId()));
        getEditorSite().getActionBars().setGlobalActionHandler(ActionFactory.REDO.getId(), reg.getAction(ActionFactory.REDO.getId()));
        getEditorSite().getActionBars().setGlobalActionHandler(ActionFactory.DELETE.getId(), reg.getAction(ActionFactory.DELETE.getId()));
    }

    @Override
    protected void configureGraphicalViewer() {
        super.configureGraphicalViewer();
        GraphicalViewer v = getGraphicalViewer();
        v.setRootEditPart(new ScalableFreeformRootEditPart());
        v.setEditPartFactory(new LayoutEditPartFactory(context));
        KeyHandler keys = new GraphicalViewerKeyHandler(v);
        keys.put(org.eclipse.gef.KeyStroke.getPressed(SWT.DEL, 127, 0), getActionRegistry().getAction(ActionFactory.DELETE.getId()));
        v.setKeyHandler(keys);
        v.setProperty(MouseWheelHandler.KeyGenerator.getKey(SWT.MOD1), MouseWheelZoomHandler.SINGLETON);
        getActionRegistry().registerAction(new org.eclipse.gef.ui.actions.ZoomInAction(zoom()));
        getActionRegistry().registerAction(new org.eclipse.gef.ui.actions.ZoomOutAction(zoom()));
        getEditorSite().getActionBars().setGlobalActionHandler(GEFActionConstants.ZOOM_IN, getActionRegistry().getAction(GEFActionConstants.ZOOM_IN));
    }

    @Override
    protected void initializeGraphicalViewer() {
        getGraphicalViewer().setContents(layout);
    }

    private org.eclipse.gef.editparts.ZoomManager zoom() {
        return ((ScalableFreeformRootEditPart) getGraphicalViewer().getRootEditPart()).getZoomManager();
    }

    private void modelChanged() {
        context.setReport(analyze());
        DiagramEditPart d = diagram();
        if (d != null) {
            d.refreshAll();
        }
        if (panel != null && !panel.control().isDisposed()) {
            panel.show(layout, context.report(), context.colorBy());
        }
        if (outline != null) {
            outline.refresh();
        }
        Markers.replace(file, context.report().problems());
    }

    private void setColorBy(LayoutColors.ColorBy by) {
        context.setColorBy(by);
        diagram().refreshAll();
        panel.show(layout, context.report(), by);
    }

    @Override
    public void commandStackChanged(EventObject event) {
        firePropertyChange(PROP_DIRTY);
        super.commandStackChanged(event);
    }

    @Override
    public void doSave(IProgressMonitor monitor) {
        try {
            WorkspaceFiles.write(file, LayoutYaml.write(layout));
            getCommandStack().markSaveLocation();
        } catch (CoreException e) {
            MessageDialog.openError(getSite().getShell(), "Save failed", "Could not save " + file.getFullPath() + ": " + e.getMessage());
        }
    }

    @Override
    public boolean isSaveAsAllowed() {
        return false;
    }

    @Override
    @SuppressWarnings("rawtypes")
    public Object getAdapter(Class type) {
        if (type == IContentOutlinePage.class) {
            if (outline == null) {
                outline = new LayoutOutlinePage(layout);
            }
            return outline;
        }
        return super.getAdapter(type);
    }

    @Override
    public void dispose() {
        layout.removeListener(onChange);
        super.dispose();
    }

    // ---- exports ----

    public void showFlags() {
        new ExportDialog(getSite().getShell(), layout.name(), LayoutExport.all(layout, context.report())).open();
    }

    private void exportPng() {
        Path p = ask("*.png");
        if (p != null) {
            try {
                AtomicFiles.write(p, pngBytes());
            } catch (Exception e) {
                MessageDialog.openError(getSite().getShell(), "Export failed", e.getMessage());
            }
        }
    }

    private void exportSvg() {
        Path p = ask("*.svg");
        if (p != null) {
            try {
                AtomicFiles.write(p, LayoutSvg.render(layout, context.report(), context.colorBy()));
            } catch (Exception e) {
                MessageDialog.openError(getSite().getShell(), "Export failed", e.getMessage());
            }
        }
    }

    private Path ask(String ext) {
        FileDialog d = new FileDialog(getSite().getShell(), SWT.SAVE);
        d.setFilterExtensions(new String[] {ext});
        d.setFileName(file.getName().replace(".llmwb-layout", ext.substring(1)));
        d.setOverwrite(true);
        String f = d.open();
        return f == null ? null : Path.of(f);
    }

    /** The diagram painted into a PNG, as the viewer draws it (printable layers, 100% zoom). */
    public byte[] pngBytes() {
        IFigure f = ((LayerManager) getGraphicalViewer().getEditPartRegistry().get(LayerManager.ID)).getLayer(LayerConstants.PRINTABLE_LAYERS);
        Rectangle b = f.getBounds();
        Image img = new Image(getSite().getShell().getDisplay(), Math.max(1, b.width), Math.max(1, b.height));
        GC gc = new GC(img);
        SWTGraphics g = new SWTGraphics(gc);
        g.translate(-b.x, -b.y);
        f.paint(g);
        g.dispose();
        gc.dispose();
        ImageLoader loader = new ImageLoader();
        loader.data = new ImageData[] {img.getImageData()};
        img.dispose();
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        loader.save(out, SWT.IMAGE_PNG);
        return out.toByteArray();
    }


    // ---- for the side panel's callers and tests ----

    public Layout layout() {
        return layout;
    }

    public LayoutAnalysis.Report report() {
        return context.report();
    }

    public LayoutPanel panel() {
        return panel;
    }

    public GraphicalViewer viewer() {
        return getGraphicalViewer();
    }

    public CommandStack commandStack() {
        return getCommandStack();
    }

    public DiagramEditPart diagram() {
        GraphicalViewer v = getGraphicalViewer();
        return v == null ? null : (DiagramEditPart) v.getContents();
    }

    public IFile file() {
        return file;
    }

    public List<String> outlineLabels() {
        return outline == null ? List.of() : outline.topLevelLabels();
    }
}
