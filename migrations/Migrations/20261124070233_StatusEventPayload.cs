using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace VehicleImages.Migrations.Migrations
{
    /// <inheritdoc />
    public partial class StatusEventPayload : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            // Status events carry what a badge needs (attempts, the reason of a failure), so no listener has to
            // query per event.
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_status.v2"));
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.Sql(SqlScripts.Load("vi_notify_image_status.v1"));
        }
    }
}
