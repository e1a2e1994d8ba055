//! A document as an XLSX workbook: a summary sheet and one sheet per table.

use super::{Cell, Document};
use whistle_store::StoreError;

impl Document {
    /// One sheet for the summary and one per table. The document properties carry a fixed date
    /// (the archive entries already do), so the bytes depend on the content only.
    pub fn xlsx(&self) -> Result<Vec<u8>, StoreError> {
        use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format as XFormat, Workbook};
        let fail = |e: rust_xlsxwriter::XlsxError| StoreError::Other(anyhow::anyhow!(e));
        let mut workbook = Workbook::new();
        let fixed = ExcelDateTime::from_ymd(2000, 1, 1).map_err(fail)?;
        workbook.set_properties(
            &DocProperties::new()
                .set_title(&self.title)
                .set_creation_datetime(&fixed),
        );
        let bold = XFormat::new().set_bold();
        let rate = XFormat::new().set_num_format("0.0000");
        {
            let sheet = workbook.add_worksheet();
            sheet
                .set_name(self.lang.t("摘要", "summary"))
                .map_err(fail)?;
            sheet
                .write_string_with_format(0, 0, &self.title, &bold)
                .map_err(fail)?;
            for (i, line) in self.summary.iter().enumerate() {
                sheet.write_string(i as u32 + 2, 0, line).map_err(fail)?;
            }
            sheet.set_column_width(0, 100).map_err(fail)?;
        }
        for (index, table) in self.tables.iter().enumerate() {
            let sheet = workbook.add_worksheet();
            // Sheet names: at most 31 characters, unique.
            let name: String = format!("{}-{}", index + 1, table.name)
                .chars()
                .take(31)
                .collect();
            sheet.set_name(name).map_err(fail)?;
            sheet
                .write_string_with_format(0, 0, &table.title, &bold)
                .map_err(fail)?;
            for (c, column) in table.columns.iter().enumerate() {
                sheet
                    .write_string_with_format(1, c as u16, column, &bold)
                    .map_err(fail)?;
                sheet
                    .set_column_width(c as u16, (column.chars().count() as f64 * 2.2).max(10.0))
                    .map_err(fail)?;
            }
            sheet.set_freeze_panes(2, 0).map_err(fail)?;
            for (r, row) in table.rows.iter().enumerate() {
                let r = r as u32 + 2;
                for (c, cell) in row.iter().enumerate() {
                    let c = c as u16;
                    match cell {
                        Cell::Text(t) => sheet.write_string(r, c, t).map(|_| ()),
                        Cell::Int(i) => sheet.write_number(r, c, *i as f64).map(|_| ()),
                        Cell::Rate(Some(v)) => {
                            sheet.write_number_with_format(r, c, *v, &rate).map(|_| ())
                        }
                        Cell::Rate(None) => Ok(()),
                    }
                    .map_err(fail)?;
                }
            }
        }
        workbook.save_to_buffer().map_err(fail)
    }
}
