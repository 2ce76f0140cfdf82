"""The monthly briefing book as an asset: written after each publication of the month."""

import dagster as dg

from bsc_pipeline.defs.resources import BscResource

REPORT_GROUP = "scorecard"
PUBLISHED_KEY = dg.AssetKey("published_scorecard")


def build_report_asset(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    """`scorecard_report`: the month's briefing book as one HTML file under `<lake>/reports/`."""

    @dg.asset(
        partitions_def=partitions,
        group_name=REPORT_GROUP,
        kinds={"html"},
        deps=[PUBLISHED_KEY],
        description=(
            "The month's briefing book: headline, strategy map, measures with sparklines and "
            "initiatives, as one self-contained HTML file at <lake>/reports/<month>.html. Read "
            "only from the published warehouse views, so it shows what finance sees."
        ),
    )
    def scorecard_report(
        context: dg.AssetExecutionContext, bsc: BscResource
    ) -> dg.MaterializeResult:
        from bsc_pipeline.briefing import report_path, write_report
        from bsc_pipeline.briefing.writing import load_spec_if_present
        from bsc_pipeline.warehouse.engine import make_engine

        settings = bsc.settings()
        month = context.partition_key
        written = write_report(
            make_engine(settings.warehouse_url),
            month,
            report_path(settings, month),
            spec=load_spec_if_present(settings),
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(written.path)),
                "measures": written.measures,
                "links": written.links,
                "statuses": dg.MetadataValue.json(written.statuses),
            }
        )

    return scorecard_report
