package org.llmwb.core.layout;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;
import org.llmwb.core.InputException;
import org.llmwb.core.Problem;
import org.llmwb.core.Units;
import org.llmwb.core.catalog.GpuCatalog;
import org.llmwb.core.plan.PlanResult;

class LayoutTest {
    private static final GpuCatalog CATALOG = GpuCatalog.builtIn();

    private static LayoutAnalysis.Report analyze(Layout l) {
        return LayoutAnalysis.analyze(l, CATALOG, "test.llmwb-layout");
    }

    private static List<String> codes(LayoutAnalysis.Report r, Problem.Severity s) {
        return r.problems().stream().filter(p -> p.severity() == s).map(Problem::code).toList();
    }

    @Test
    void everyPresetIsValidAndRoundTrips() {
        for (LayoutPresets.Preset p : LayoutPresets.all()) {
            Layout l = p.load();
            LayoutAnalysis.Report r = analyze(l);
            assertTrue(r.valid(), p.id() + ": " + r.problems());
            String yaml = LayoutYaml.write(l);
            Layout back = LayoutYaml.parse(yaml, "round-trip");
            assertEquals(yaml, LayoutYaml.write(back), p.id());
            assertEquals(l.allGpus().size(), back.allGpus().size());
            assertEquals(l.pools().size(), back.pools().size());
        }
    }

    @Test
    void llama70bTp4ShardsWeightsOverFourGpus() {
        LayoutAnalysis.Report r = analyze(LayoutPresets.get("llama3-70b-tp4-dp2").load());
        LayoutAnalysis.PoolReport pool = r.pool("serve");
        assertEquals(2, pool.parallel().dp());
        assertEquals(4, pool.parallel().tp());
        // 70.6e9 params × 2 bytes ÷ 4 ≈ 35 GB per GPU
        double w = pool.plan().memory().weights();
        assertTrue(w > 33e9 && w < 37e9, "weights per GPU " + w);
        LayoutAnalysis.GpuReport g5 = r.gpu("node0/5");
        assertEquals(1, g5.replica());
        assertEquals(1, g5.tpRank());
        assertEquals(1, g5.tpGroup());
        assertTrue(pool.plan().collectives().stream().allMatch(c -> c.link().startsWith("NVLink")), "TP4 stays on NVSwitch");
    }

    @Test
    void deepSeekExpertGroupsAndFlags() {
        Layout l = LayoutPresets.get("deepseek-r1-tp2-ep4").load();
        LayoutAnalysis.Report r = analyze(l);
        assertEquals(0, r.gpu("node0/0").epGroup());
        assertEquals(3, r.gpu("node0/7").epGroup());
        Map<String, String> ex = LayoutExport.all(l, r);
        assertTrue(ex.get("vLLM").contains("--enable-expert-parallel"), ex.get("vLLM"));
        assertTrue(ex.get("SGLang").contains("--tp 8") && ex.get("SGLang").contains("--ep-size 4") && ex.get("SGLang").contains("--enable-dp-attention"),
                ex.get("SGLang"));
    }

    @Test
    void disaggregatedExportsRoleFlagsAndDynamoWorkers() {
        Layout l = LayoutPresets.get("llama3-70b-disagg-2node").load();
        LayoutAnalysis.Report r = analyze(l);
        assertEquals(4, r.pool("prefill").parallel().dp());
        assertEquals(1, r.pool("decode").parallel().dp());
        assertEquals(1, r.transfers().size());
        LayoutAnalysis.Transfer t = r.transfers().get(0);
        assertTrue(t.link().contains("InfiniBand"), t.link());
        // 4096 tokens × 80 layers × 2 × 8 KV heads × 128 × 2 bytes (KV stays BF16 under FP8 weights unless kv: is set)
        assertEquals(4096.0 * 80 * 2 * 8 * 128 * 2, t.bytes(), 1);
        Map<String, String> ex = LayoutExport.all(l, r);
        assertTrue(ex.get("vLLM").contains("--tensor-parallel-size 2") && ex.get("vLLM").contains("NixlConnector"), ex.get("vLLM"));
        assertTrue(!ex.get("vLLM").contains("--data-parallel-size"), "disaggregated workers are launched per replica: " + ex.get("vLLM"));
        assertTrue(ex.get("SGLang").contains("--disaggregation-mode prefill") && ex.get("SGLang").contains("--disaggregation-mode decode"));
        assertTrue(ex.get("SGLang").contains("--pd-disaggregation"));
        String bench = ex.get("llmwb bench");
        assertTrue(bench.contains("llmwb bench --url http://HOST:8000/v1") && bench.contains("--gpus " + l.pools().stream().mapToInt(p -> p.gpus().size()).sum()),
                bench);
        assertTrue(bench.contains("behind its router"), bench);
        String dyn = ex.get("Dynamo");
        assertTrue(dyn.contains("kind: DynamoGraphDeployment"), dyn);
        assertTrue(dyn.contains("subComponentType: prefill") && dyn.contains("subComponentType: decode"), dyn);
        assertTrue(dyn.contains("replicas: 4") && dyn.contains("gpu: \"2\"") && dyn.contains("gpu: \"8\""), dyn);
        assertTrue(dyn.contains("--is-prefill-worker"), dyn);
        // the Dynamo file is YAML that parses
        assertNotNull(org.llmwb.core.yaml.YNode.parse(dyn, "dynamo").get("spec").get("services").get("VllmPrefillWorker"));
    }

    @Test
    void movingAGpuBetweenPoolsChangesItsMemoryAndFlagsPartialReplicas() {
        Layout l = LayoutPresets.get("llama3-70b-disagg-2node").load();
        LayoutAnalysis.Report before = analyze(l);
        Layout.Gpu g = l.gpu("node1/7");
        PlanResult.GpuMemory was = before.gpu("node1/7").memory();
        Layout.PoolSlot from = l.moveGpu(g, l.poolNamed("prefill"), 99);
        LayoutAnalysis.Report after = analyze(l);
        assertEquals("prefill", after.gpu("node1/7").pool().name());
        assertNotEquals(was.weights(), after.gpu("node1/7").memory().weights(), "TP2 shard is 4× the TP8 shard");
        assertTrue(codes(after, Problem.Severity.ERROR).contains("pool-partial"), after.problems().toString());
        List<String> partial = after.problems().stream().filter(p -> p.code().equals("pool-partial")).map(Problem::message).toList();
        assertTrue(partial.stream().anyMatch(m -> m.contains("'decode'") && m.contains("7 GPUs")), partial.toString());
        assertTrue(partial.stream().anyMatch(m -> m.contains("'prefill'") && m.contains("9 GPUs")), partial.toString());
        // the prefill pool's TP2 groups are still whole nodes' pairs: its all-reduces stay on NVLink
        assertTrue(after.pool("prefill").plan().collectives().stream().allMatch(c -> c.link().startsWith("NVLink")),
                after.pool("prefill").plan().collectives().toString());
        // undo
        l.moveGpu(g, from.pool(), from.index());
        assertTrue(analyze(l).valid());
        assertEquals(List.of("node1/0-7"), LayoutYaml.ranges(l.poolNamed("decode").gpus()));
    }

    @Test
    void tpGroupAcrossNodesIsCostedOverTheNetwork() {
        Layout l = LayoutYaml.parse("""
                kind: layout
                model: llama-3-70b
                weights: fp16
                nodes:
                  - {name: a, gpu: h100-sxm, gpus: 4}
                  - {name: b, gpu: h100-sxm, gpus: 4}
                pools:
                  - {name: serve, tp: 8, gpus: [a/0-3, b/0-3]}
                """, "x");
        LayoutAnalysis.Report r = analyze(l);
        assertTrue(r.pool("serve").plan().collectives().stream().anyMatch(c -> c.link().contains("network")));
        assertTrue(codes(r, Problem.Severity.WARNING).contains("tp-cross-node"), r.problems().toString());
        // interleaving the ranks so TP4 groups stay inside a node brings the all-reduce back onto NVLink
        l.setPoolProperty(l.poolNamed("serve"), "tp", 4);
        LayoutAnalysis.Report r2 = analyze(l);
        assertTrue(r2.pool("serve").plan().collectives().stream().filter(c -> c.group().equals("TP")).allMatch(c -> c.link().startsWith("NVLink")));
    }

    @Test
    void pcieNodesUsePcieForTp() {
        Layout l = LayoutYaml.parse("""
                kind: layout
                model: llama-3.1-8b
                nodes: [{name: box, gpu: l40s, gpus: 2, fabric: pcie}]
                pools: [{name: serve, tp: 2, gpus: [box/0-1]}]
                """, "x");
        LayoutAnalysis.Report r = analyze(l);
        assertTrue(r.pool("serve").plan().collectives().stream().allMatch(c -> c.link().contains("PCIe")), r.pool("serve").plan().collectives().toString());
    }

    @Test
    void badFilesSayWhereAndWhy() {
        InputException e = assertThrows(InputException.class, () -> LayoutYaml.parse("""
                kind: layout
                model: llama-3-70b
                nodes:
                  - {name: node0, gpu: h100-sxm, gpus: 8}
                pools:
                  - name: serve
                    tp: 0
                    gpus: [node0/0-9]
                  - {name: other, gpus: [nodeX/1], colour: red}
                """, "bad.llmwb-layout"));
        String m = e.getMessage();
        assertTrue(m.contains("bad.llmwb-layout:7:") && m.contains("tp must be at least 1"), m);
        assertTrue(m.contains("bad.llmwb-layout:9:") && m.contains("unknown pool key 'colour'"), m);
        assertTrue(m.contains("no node named 'nodeX'"), m);
        InputException twice = assertThrows(InputException.class, () -> LayoutYaml.parse("""
                kind: layout
                nodes: [{name: n, gpu: h100-sxm, gpus: 2}]
                pools: [{name: a, gpus: [n/0-1]}, {name: b, gpus: [n/1]}]
                """, "t"));
        assertTrue(twice.getMessage().contains("GPU n/1 is already in pool 'a'"), twice.getMessage());
        assertThrows(InputException.class, () -> LayoutYaml.parse("kind: layout\nnodes: [{name: n, gpu: h100-sxm, gpus: 200}]\n", "t"));
        assertThrows(InputException.class, () -> LayoutYaml.parse("kind: experiment\n", "t"));
    }

    @Test
    void analysisReportsUnknownModelsAndRolesAsProblemsNotCrashes() {
        Layout l = LayoutPresets.get("llama3-70b-tp4-dp2").load();
        l.setSetting("model", "no-such-model");
        l.setPoolProperty(l.poolNamed("serve"), "role", Layout.Role.PREFILL);
        LayoutAnalysis.Report r = analyze(l);
        assertTrue(codes(r, Problem.Severity.ERROR).containsAll(List.of("layout-model", "layout-role")), r.problems().toString());
        assertNull(r.pool("serve").plan());
        assertTrue(LayoutExport.all(l, r).get("vLLM").contains("not exported"));
    }

    @Test
    void editsFireOneEventAndNodeRemovalRestores() {
        Layout l = LayoutPresets.get("llama3-70b-disagg-2node").load();
        int[] events = {0};
        l.addListener(e -> events[0]++);
        Layout.Node n = l.addNode("node", "h100-sxm", Layout.Fabric.NVSWITCH, 4);
        assertEquals(1, events[0]);
        assertEquals(4, l.unassigned().size());
        Layout.NodeRemoval rm = l.removeNode(l.nodeNamed("node1"));
        assertEquals(0, l.poolNamed("decode").gpus().size());
        l.restoreNode(rm);
        assertEquals(List.of("node1/0-7"), LayoutYaml.ranges(l.poolNamed("decode").gpus()));
        assertEquals(3, l.nodes().size());
        assertTrue(n.name().startsWith("node"));
        assertTrue(Units.GIB > 0);
    }

    @Test
    void svgAndLegendFollowTheOverlay() throws Exception {
        Layout l = LayoutPresets.get("deepseek-r1-tp2-ep4").load();
        LayoutAnalysis.Report r = analyze(l);
        List<LayoutColors.Entry> ep = LayoutColors.legend(l, r, LayoutColors.ColorBy.EP_GROUP);
        assertEquals(List.of("EP group 0", "EP group 1", "EP group 2", "EP group 3"), ep.stream().map(LayoutColors.Entry::label).toList());
        assertEquals(4, LayoutColors.legend(l, r, LayoutColors.ColorBy.TP_GROUP).size());
        String svg = LayoutSvg.render(l, r, LayoutColors.ColorBy.EP_GROUP);
        // well-formed XML with one rect per GPU box among others, and the legend
        javax.xml.parsers.DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(new java.io.ByteArrayInputStream(svg.getBytes("UTF-8")));
        assertTrue(svg.contains("node0/7") && svg.contains("EP group 3"), svg);
        double[] f = LayoutSvg.memoryFractions(r.gpu("node0/0"));
        assertEquals(1.0, f[0] + f[1] + f[2] + f[3], 1e-9);
        assertTrue(f[0] > 0.4, "FP8 R1 over 8 GPUs fills over 40% of each H200 with weights: " + f[0]);
    }
}
