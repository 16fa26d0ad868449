package org.llmwb.ui.layout;

import java.util.List;

import org.eclipse.jface.viewers.ITreeContentProvider;
import org.eclipse.jface.viewers.LabelProvider;
import org.eclipse.swt.widgets.Composite;
import org.eclipse.ui.views.contentoutline.ContentOutlinePage;
import org.llmwb.core.layout.Layout;

/** Outline: the cluster (nodes → GPUs) and the deployment (pools → GPUs in rank order). */
class LayoutOutlinePage extends ContentOutlinePage {
    private final Layout layout;

    private record Section(String title, boolean cluster) {
    }

    LayoutOutlinePage(Layout layout) {
        this.layout = layout;
    }

    @Override
    public void createControl(Composite parent) {
        super.createControl(parent);
        getTreeViewer().setContentProvider(new ITreeContentProvider() {
            @Override
            public Object[] getElements(Object input) {
                return new Object[] {new Section("Cluster", true), new Section("Deployment", false)};
            }

            @Override
            public Object[] getChildren(Object e) {
                if (e instanceof Section s) {
                    return s.cluster() ? layout.nodes().toArray() : layout.pools().toArray();
                }
                if (e instanceof Layout.Node n) {
                    return n.gpus().toArray();
                }
                if (e instanceof Layout.Pool p) {
                    return p.gpus().toArray();
                }
                return new Object[0];
            }

            @Override
            public Object getParent(Object e) {
                return null;
            }

            @Override
            public boolean hasChildren(Object e) {
                return getChildren(e).length > 0;
            }
        });
        getTreeViewer().setLabelProvider(new LabelProvider() {
            @Override
            public String getText(Object e) {
                if (e instanceof Section s) {
                    return s.title();
                }
                if (e instanceof Layout.Node n) {
                    return n.name() + " — " + n.gpus().size() + " × " + n.gpuType() + " (" + n.fabric().name().toLowerCase() + ")";
                }
                if (e instanceof Layout.Pool p) {
                    return p.name() + " — " + p.role().name().toLowerCase() + ", TP" + p.tp() + (p.pp() > 1 ? " PP" + p.pp() : "")
                            + (p.ep() > 1 ? " EP" + p.ep() : "") + ", " + p.gpus().size() + " GPUs";
                }
                if (e instanceof Layout.Gpu g) {
                    Layout.Pool p = layout.poolOf(g);
                    return g.id() + (p == null ? " (idle)" : " → " + p.name());
                }
                return String.valueOf(e);
            }
        });
        getTreeViewer().setInput(layout);
        getTreeViewer().expandToLevel(2);
    }

    void refresh() {
        if (getTreeViewer() != null && !getTreeViewer().getControl().isDisposed()) {
            getTreeViewer().refresh();
        }
    }

    List<String> topLevelLabels() {
        return List.of(getTreeViewer().getTree().getItems()).stream().map(i -> i.getText()).toList();
    }
}
