package org.llmwb.ui.layout;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import org.eclipse.gef.commands.Command;
import org.eclipse.gef.commands.CommandStack;
import org.eclipse.ui.views.properties.ComboBoxPropertyDescriptor;
import org.eclipse.ui.views.properties.IPropertyDescriptor;
import org.eclipse.ui.views.properties.IPropertySource;
import org.eclipse.ui.views.properties.PropertyDescriptor;
import org.eclipse.ui.views.properties.TextPropertyDescriptor;
import org.llmwb.core.catalog.ModelPresets;
import org.llmwb.core.catalog.Precision;
import org.llmwb.core.layout.Layout;
import org.llmwb.ui.layout.commands.SetLayoutSettingCommand;
import org.llmwb.ui.layout.commands.SetPoolPropertyCommand;

/**
 * Properties-view sources for the diagram (deployment settings), a pool (role and parallelism) and
 * a GPU (read-only). Every edit runs a command on the editor's command stack, so it can be undone.
 * Invalid text (a TP of "x" or 0) is refused by the cell validator, not written to the model.
 */
public final class LayoutProperties {
    private LayoutProperties() {
    }

    private static String[] enumNames(Class<? extends Enum<?>> e) {
        List<String> out = new ArrayList<>();
        for (Enum<?> v : e.getEnumConstants()) {
            out.add(v.name().toLowerCase(Locale.ROOT));
        }
        return out.toArray(String[]::new);
    }

    private static TextPropertyDescriptor positiveInt(String id, String label, String category) {
        TextPropertyDescriptor d = new TextPropertyDescriptor(id, label);
        d.setCategory(category);
        d.setValidator(v -> {
            try {
                return Long.parseLong(v.toString().trim()) >= 1 ? null : label + " must be at least 1";
            } catch (NumberFormatException e) {
                return label + " must be a whole number";
            }
        });
        return d;
    }

    public abstract static class Base implements IPropertySource {
        final Layout layout;
        final CommandStack stack;

        Base(Layout layout, CommandStack stack) {
            this.layout = layout;
            this.stack = stack;
        }

        void run(Command c) {
            if (c.canExecute()) {
                stack.execute(c);
            }
        }

        @Override
        public Object getEditableValue() {
            return this;
        }

        @Override
        public boolean isPropertySet(Object id) {
            return false;
        }

        @Override
        public void resetPropertyValue(Object id) {
        }
    }

    /** The deployment: model, precisions, sizes, mode and network. */
    public static final class Diagram extends Base {
        private static final String[] MODELS = ModelPresets.ids().toArray(String[]::new);
        private static final String[] PRECISIONS = java.util.Arrays.stream(Precision.values()).map(Precision::id).toArray(String[]::new);
        private static final String[] MODES = enumNames(Layout.Mode.class);

        public Diagram(Layout layout, CommandStack stack) {
            super(layout, stack);
        }

        @Override
        public IPropertyDescriptor[] getPropertyDescriptors() {
            TextPropertyDescriptor name = new TextPropertyDescriptor("name", "name");
            ComboBoxPropertyDescriptor model = new ComboBoxPropertyDescriptor("model", "model", MODELS);
            ComboBoxPropertyDescriptor w = new ComboBoxPropertyDescriptor("weights", "weights", PRECISIONS);
            ComboBoxPropertyDescriptor kv = new ComboBoxPropertyDescriptor("kv", "KV cache", PRECISIONS);
            ComboBoxPropertyDescriptor mode = new ComboBoxPropertyDescriptor("mode", "mode", MODES);
            TextPropertyDescriptor gbs = new TextPropertyDescriptor("network.gbs", "network GB/s per GPU");
            gbs.setValidator(v -> {
                try {
                    return Double.parseDouble(v.toString()) > 0 ? null : "bandwidth must be positive";
                } catch (NumberFormatException e) {
                    return "not a number";
                }
            });
            return new IPropertyDescriptor[] {name, model, w, kv, positiveInt("context", "context (max model length)", null),
                    positiveInt("batch", "batch (sequences per replica)", null), positiveInt("promptTokens", "prompt tokens", null), mode, gbs};
        }

        @Override
        public Object getPropertyValue(Object id) {
            String k = (String) id;
            return switch (k) {
                case "model" -> index(MODELS, layout.model());
                case "weights" -> index(PRECISIONS, safeId(layout.weights()));
                case "kv" -> index(PRECISIONS, layout.kv().isEmpty() ? "" : safeId(layout.kv()));
                case "mode" -> layout.mode().ordinal();
                default -> String.valueOf(layout.setting(k));
            };
        }

        @Override
        public void setPropertyValue(Object id, Object value) {
            String k = (String) id;
            Object v = switch (k) {
                case "model" -> MODELS[(Integer) value];
                case "weights", "kv" -> PRECISIONS[(Integer) value];
                case "mode" -> Layout.Mode.values()[(Integer) value];
                case "context", "batch", "promptTokens" -> Long.parseLong(value.toString().trim());
                case "network.gbs" -> Double.parseDouble(value.toString().trim());
                default -> value.toString();
            };
            if (!v.equals(layout.setting(k))) {
                run(new SetLayoutSettingCommand(layout, k, v));
            }
        }

        private static String safeId(String p) {
            try {
                return Precision.parse(p).id();
            } catch (RuntimeException e) {
                return p;
            }
        }

        private static Integer index(String[] values, String v) {
            for (int i = 0; i < values.length; i++) {
                if (values[i].equalsIgnoreCase(v)) {
                    return i;
                }
            }
            return -1;
        }
    }

    /** A pool: name, role and its parallelism. */
    public static final class Pool extends Base {
        private static final String[] ROLES = enumNames(Layout.Role.class);
        private final Layout.Pool pool;

        public Pool(Layout layout, CommandStack stack, Layout.Pool pool) {
            super(layout, stack);
            this.pool = pool;
        }

        @Override
        public IPropertyDescriptor[] getPropertyDescriptors() {
            ComboBoxPropertyDescriptor role = new ComboBoxPropertyDescriptor("role", "role", ROLES);
            ComboBoxPropertyDescriptor sp = new ComboBoxPropertyDescriptor("sp", "SP (sequence parallel)", new String[] {"false", "true"});
            PropertyDescriptor gpus = new PropertyDescriptor("gpus", "GPUs (rank order)");
            TextPropertyDescriptor name = new TextPropertyDescriptor("name", "name");
            for (PropertyDescriptor d : new PropertyDescriptor[] {role, sp, gpus, name}) {
                d.setCategory("pool");
            }
            return new IPropertyDescriptor[] {name, role, positiveInt("tp", "TP", "parallelism"),
                    positiveInt("pp", "PP", "parallelism"), positiveInt("ep", "EP", "parallelism"), positiveInt("cp", "CP", "parallelism"), sp, gpus};
        }

        @Override
        public Object getPropertyValue(Object id) {
            return switch ((String) id) {
                case "role" -> pool.role().ordinal();
                case "sp" -> pool.sp() ? 1 : 0;
                case "gpus" -> String.join(" ", pool.gpus().stream().map(Layout.Gpu::id).toList());
                default -> String.valueOf(Layout.poolProperty(pool, (String) id));
            };
        }

        @Override
        public void setPropertyValue(Object id, Object value) {
            String k = (String) id;
            Object v = switch (k) {
                case "role" -> Layout.Role.values()[(Integer) value];
                case "sp" -> (Integer) value == 1;
                case "tp", "pp", "ep", "cp" -> Integer.parseInt(value.toString().trim());
                case "name" -> value.toString().trim();
                default -> null;
            };
            if (v == null || v.equals(Layout.poolProperty(pool, k))) {
                return;
            }
            if (k.equals("name") && (v.toString().isEmpty() || layout.poolNamed(v.toString()) != null)) {
                return; // names are unique and non-empty: a clash keeps the old name
            }
            run(new SetPoolPropertyCommand(layout, pool, k, v));
        }
    }

    /** A GPU: where it is and what it is (read-only; move it by dragging). */
    public static final class Gpu extends Base {
        private final Layout.Gpu gpu;

        public Gpu(Layout layout, CommandStack stack, Layout.Gpu gpu) {
            super(layout, stack);
            this.gpu = gpu;
        }

        @Override
        public IPropertyDescriptor[] getPropertyDescriptors() {
            return new IPropertyDescriptor[] {new PropertyDescriptor("id", "GPU"), new PropertyDescriptor("type", "type"),
                    new PropertyDescriptor("fabric", "node fabric"), new PropertyDescriptor("pool", "pool"), new PropertyDescriptor("rank", "rank")};
        }

        @Override
        public Object getPropertyValue(Object id) {
            Layout.PoolSlot s = layout.slotOf(gpu);
            return switch ((String) id) {
                case "id" -> gpu.id();
                case "type" -> gpu.node().gpuType();
                case "fabric" -> gpu.node().fabric().name().toLowerCase(Locale.ROOT);
                case "pool" -> s == null ? "(idle)" : s.pool().name();
                case "rank" -> s == null ? "" : String.valueOf(s.index());
                default -> "";
            };
        }

        @Override
        public void setPropertyValue(Object id, Object value) {
        }
    }
}
